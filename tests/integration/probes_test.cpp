// Probes and drains end to end (docs/operations.md "Health", "Signals"): /readyz says
// whether the node can serve — 503 for an edge whose upstream group has no host (a DNS
// name that resolves to nothing) or only ejected hosts, 200 again once a host is back —
// and a draining node keeps its listener open: a probe on a new connection sees
// /healthz 200 and /readyz 503 (not a refused connection), a new media request gets 503
// + Retry-After + Connection: close, and the response in flight when SIGTERM came
// finishes whole. An origin that drains tells its edges: its 503 + Retry-After +
// Connection: close ejects it on every edge at once, the edge retries the request on the
// next origin (the viewer sees a 200), and no later request goes to it while it drains
// and after it is gone.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <csignal>
#include <thread>

#include "edge_test_util.hpp"
#include "source/hash_ring.hpp"
#include "support/daemon.hpp"
#include "support/fake_origin.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string host_id(std::uint16_t port) { return fmt::format("127.0.0.1:{}", port); }

std::string edge_yaml(const std::string& group, const std::string& extra = "") {
  return "role: edge\nthreads: 2\nlisten:\n  - address: 127.0.0.1:0\nlogging: {level: warn}\n"
         "timeouts: {drain: 5s, upstream_connect: 500ms}\n"
         "upstream:\n  groups:\n    o: " + group + "\n  routes:\n    - {prefix: /live/, group: o}\n" + extra;
}

OriginReply segment_reply(const std::string& body) {
  OriginReply r;
  r.body = body;
  r.headers = {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=60"}};
  return r;
}

// /readyz until it answers `status` (bounded); the last answer.
HttpResponse wait_ready_status(std::uint16_t port, int status, Millis timeout) {
  const auto until = Clock::now() + timeout;
  HttpResponse r;
  do {
    r = get(port, "/readyz");
    if (r.ok() && r.status == status) return r;
    std::this_thread::sleep_for(50ms);
  } while (Clock::now() < until);
  return r;
}

TEST(Readiness, GroupWhoseDnsNameResolvesToNothingIsNotReady) {
  // .invalid never resolves (RFC 6761): the group has no member, every miss would be a 502.
  Daemon::Options opts;
  opts.start_timeout = 20s;
  auto d = Daemon::start(edge_yaml("{dns: 'no-such-origin.invalid:8080', dns_interval: 1s}"), opts);
  ASSERT_TRUE(d.running()) << d.error();
  auto ready = get(d.port(), "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.describe();
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("upstream group o has no hosts"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("no-such-origin.invalid:8080"), std::string::npos) << ready.body;
  EXPECT_EQ(get(d.port(), "/healthz").status, 200) << "alive, just not ready";
  EXPECT_EQ(get(d.port(), "/live/s/seg_1.ts").status, 502);  // what readiness protects viewers from
  EXPECT_EQ(edge_metric(d.port(), "hlscache_upstream_group_hosts", "group=\"o\"").value_or(-1), 0);
  EXPECT_TRUE(d.stop().exited);
}

TEST(Readiness, EveryHostEjectedIsNotReadyUntilTheEjectionEnds) {
  FakeOrigin origin;
  origin.set("/live/s/seg_1.ts", segment_reply("one"));
  const std::uint16_t dead = [] {
    SilentListener l;
    return l.port();
  }();
  auto d = Daemon::start(edge_yaml(fmt::format("{{hosts: ['{}']}}", host_id(dead)),
                                   "  retries: 0\n  health: {fail_threshold: 1, eject_base: 1s, eject_max: 1s}\n"));
  ASSERT_TRUE(d.running()) << d.error();
  EXPECT_EQ(get(d.port(), "/readyz").status, 200) << "a host that has not failed yet counts";
  EXPECT_EQ(get(d.port(), "/live/s/seg_1.ts").status, 502);  // connect refused: ejected (threshold 1)
  auto r = get(d.port(), "/readyz");
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_NE(r.body.find("every host of upstream group o is ejected"), std::string::npos) << r.body;
  // The ejection runs out after eject_base: ready again (the next request tries the host).
  auto back = wait_ready_status(d.port(), 200, 3s);
  EXPECT_EQ(back.status, 200) << back.describe();
  EXPECT_TRUE(d.stop().exited);
}

TEST(Drain, ProbesSeeDrainingNotARefusedConnectionAndTheInFlightResponseFinishes) {
  FakeOrigin origin;
  OriginReply held = segment_reply(pattern_body(256 * 1024, 3));
  held.hold = "h";
  origin.set("/live/s/held.ts", held);
  origin.set("/live/s/other.ts", segment_reply("other"));
  auto d = Daemon::start(edge_yaml(fmt::format("{{hosts: ['{}']}}", host_id(origin.port()))));
  ASSERT_TRUE(d.running()) << d.error();

  // A viewer's request in flight: the origin holds its answer.
  Connection viewer = Connection::open(d.port());
  ASSERT_TRUE(viewer.connected());
  ASSERT_TRUE(viewer.send(make_request("GET", "/live/s/held.ts")));
  ASSERT_TRUE(origin.wait_for_held("h", 1, 5s));

  d.signal(SIGTERM);
  // Probes on new connections, as a kubelet or a load balancer sends them.
  auto ready = wait_ready_status(d.port(), 503, 2s);
  ASSERT_TRUE(ready.ok()) << "a probe during the drain must be answered: " << ready.describe();
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body, "draining\n");
  auto health = get(d.port(), "/healthz");
  ASSERT_TRUE(health.ok()) << health.describe();
  EXPECT_EQ(health.status, 200) << "draining is not dead: liveness must pass";
  auto metrics = get(d.port(), "/metrics");
  EXPECT_EQ(metrics.status, 200);
  // New work is turned away, telling the client when to come back and closing.
  auto media = get(d.port(), "/live/s/other.ts");
  ASSERT_TRUE(media.ok()) << media.describe();
  EXPECT_EQ(media.status, 503);
  const int retry_after = std::stoi(media.header("Retry-After").value_or("0"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 5);  // at most the drain's 5 s
  EXPECT_EQ(media.header("Connection").value_or(""), "close");
  EXPECT_EQ(origin.requests("/live/s/other.ts"), 0u) << "a draining node must not start new fetches";

  // The response in flight finishes whole.
  origin.release("h");
  auto done = viewer.read_response(5s);
  ASSERT_TRUE(done.ok()) << done.describe();
  EXPECT_EQ(done.status, 200);
  EXPECT_EQ(done.body, pattern_body(256 * 1024, 3));
  EXPECT_EQ(done.header("Connection").value_or(""), "close");
  viewer.close();
  auto exit = d.wait_exit(6s);
  ASSERT_TRUE(exit.has_value()) << "the drain did not end";
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->describe();
  EXPECT_FALSE(Connection::open(d.port(), 500ms).connected()) << "the listener outlived the process";
}

// ---- an origin tier that drains ---------------------------------------------------

std::string origin_yaml(std::uint16_t broadcast) {
  return fmt::format(
      "role: origin\nthreads: 1\nlisten:\n  - address: 127.0.0.1:0\nlogging: {{level: warn}}\n"
      "timeouts: {{drain: 4s}}\n"
      "upstream:\n  groups:\n    b: {{hosts: ['{}']}}\n  routes:\n    - {{prefix: /live/, group: b}}\n",
      host_id(broadcast));
}

// A segment path the edge's ring over `ports` gives to `owner` first.
std::string owned_by(const std::vector<std::uint16_t>& ports, std::uint16_t owner, int& from) {
  std::vector<HashRing::Member> members;
  for (auto p : ports) members.push_back({host_id(p), 1});
  HashRing ring(members);
  for (int i = from;; ++i) {
    std::string path = fmt::format("/live/s/seg_{}.ts", i);
    if (ring.member(ring.owner(HashRing::hash_key(path))).id == host_id(owner)) {
      from = i + 1;
      return path;
    }
  }
}

TEST(OriginDrain, EdgesEjectADrainingOriginAtOnceAndNoRequestReachesItAfterwards) {
  FakeOrigin broadcast;
  broadcast.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> {
    OriginReply r = segment_reply("seg " + req.path());
    if (req.path() == "/live/s/slow.ts") r.hold = "slow";
    return r;
  });
  auto o1 = Daemon::start(origin_yaml(broadcast.port()));
  auto o2 = Daemon::start(origin_yaml(broadcast.port()));
  ASSERT_TRUE(o1.running()) << o1.error();
  ASSERT_TRUE(o2.running()) << o2.error();
  const std::vector<std::uint16_t> ring{o1.port(), o2.port()};
  auto edge = Daemon::start(edge_yaml(fmt::format("{{hosts: ['{}', '{}']}}", host_id(o1.port()), host_id(o2.port())),
                                      "  retries: 1\n  health: {fail_threshold: 3, eject_base: 5s, eject_max: 60s}\n"));
  ASSERT_TRUE(edge.running()) << edge.error();
  const std::string o1_labels = fmt::format("group=\"o\",host=\"{}\"", host_id(o1.port()));
  int from = 0;
  const std::string warm = owned_by(ring, o1.port(), from);
  ASSERT_EQ(get(edge.port(), warm).status, 200);  // a pooled keep-alive connection edge -> o1

  // o1 drains while a response is in flight through it (so its drain lasts).
  Connection slow = Connection::open(o1.port());
  ASSERT_TRUE(slow.send(make_request("GET", "/live/s/slow.ts")));
  ASSERT_TRUE(broadcast.wait_for_held("slow", 1, 5s));
  o1.signal(SIGTERM);
  ASSERT_EQ(wait_ready_status(o1.port(), 503, 2s).status, 503);

  // Segments o1 owns: the first is answered 503 by o1 and retried on o2; o1 is ejected at
  // once, so the rest go straight to o2. The viewer sees 200 every time.
  const double o1_drained_before = edge_metric(o1.port(), "hlscache_requests_drained_total").value_or(-1);
  for (int i = 0; i < 5; ++i) {
    const std::string path = owned_by(ring, o1.port(), from);
    auto r = get(edge.port(), path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.describe();
    EXPECT_EQ(r.body, "seg " + path);
  }
  EXPECT_EQ(edge_metric(o1.port(), "hlscache_requests_drained_total").value_or(-1) - o1_drained_before, 1)
      << "after its first 503 the edge must not send o1 anything";
  EXPECT_EQ(edge_metric(edge.port(), "hlscache_upstream_host_up", o1_labels).value_or(-1), 0);
  EXPECT_EQ(edge_metric(edge.port(), "hlscache_upstream_host_ejections_total", o1_labels).value_or(-1), 1);
  EXPECT_EQ(edge_metric(edge.port(), "hlscache_upstream_host_errors_total", o1_labels).value_or(-1), 0)
      << "a drain is not a failure";

  // o1 finishes its in-flight response and exits; the edge still sends nothing its way
  // (the ejection lasts the drain's Retry-After), so no request meets the closed port.
  broadcast.release("slow");
  EXPECT_EQ(slow.read_response(5s).status, 200);
  slow.close();
  auto exit = o1.wait_exit(6s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->describe();
  for (int i = 0; i < 5; ++i) {
    const std::string path = owned_by(ring, o1.port(), from);
    EXPECT_EQ(get(edge.port(), path).status, 200) << path;
  }
  EXPECT_EQ(edge_metric(edge.port(), "hlscache_upstream_host_errors_total", o1_labels).value_or(-1), 0)
      << "a request reached the drained origin's closed port";
  EXPECT_EQ(edge_metric(edge.port(), "hlscache_upstream_host_requests_total", o1_labels).value_or(-1), 2)
      << "the warm-up and the one answered 503";
  EXPECT_TRUE(edge.stop().exited);
  EXPECT_TRUE(o2.stop().exited);
}

}  // namespace
}  // namespace hlscache::test
