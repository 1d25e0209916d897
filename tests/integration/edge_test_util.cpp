#include "edge_test_util.hpp"

#include <regex>
#include "core/strings.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace hlscache::test {

namespace {

using Clock = std::chrono::steady_clock;



// Enough descriptors for a herd (the soft limit may be 1024).
void raise_fd_limit(std::size_t want) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, want);
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace

std::string EdgeYaml::str() const {
  std::string y = "role: edge\n"
                  "threads: " + std::to_string(threads) + "\n"
                  "server_name: edge-it\n"
                  "listen:\n"
                  "  - address: 127.0.0.1:0\n"
                  "upstream:\n"
                  "  hosts: [\"127.0.0.1:" + std::to_string(upstream_port) + "\"]\n" +
                  (upstream.empty() ? std::string() : "  " + upstream + "\n") +
                  "logging: {" + logging + "}\n";
  if (!limits.empty()) y += "limits: {" + limits + "}\n";
  // A short drain so a test that fails with a parked request does not stall the suite.
  y += "timeouts: {drain: 2s" + (timeouts.empty() ? std::string() : ", " + timeouts) + "}\n";
  if (!freshness.empty()) y += "freshness: {" + freshness + "}\n";
  if (!cache.empty()) y += "cache: {" + cache + "}\n";
  if (!admin.empty()) y += "admin: {" + admin + "}\n";
  if (!load.empty()) y += "load: {" + load + "}\n";
  return y;
}

std::optional<long> cache_status_ttl(const HttpResponse& r) {
  static const std::regex ttl(R"(; ttl=(-?\d+))");
  std::smatch m;
  std::string v = r.header("Cache-Status").value_or("");
  if (!std::regex_search(v, m, ttl)) return std::nullopt;
  return std::stol(m[1]);
}

std::uint32_t crc32_of(std::string_view bytes, std::uint32_t crc) {
  return static_cast<std::uint32_t>(
      ::crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<z_size_t>(bytes.size())));
}

std::string pattern_body(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::optional<std::string> gunzip(std::string_view gz) {
  z_stream zs{};
  if (::inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return std::nullopt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = ::inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  ::inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

double ms_between(SteadyTime a, SteadyTime b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

std::optional<std::string> HerdResult::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequal(k, name)) return v;
  return std::nullopt;
}

std::string HerdResult::describe() const {
  std::string s = std::string(to_string(outcome)) + " status=" + std::to_string(status) +
                  " body_bytes=" + std::to_string(body_bytes);
  if (content_length) s += " content_length=" + std::to_string(*content_length);
  if (chunked) s += " chunked";
  for (const auto& [k, v] : headers) s += "\n  " + k + ": " + v;
  return s;
}

// ---- ClientHerd ----------------------------------------------------------------

struct ClientHerd::Client {
  enum class State { connecting, sending, head, body_length, body_close, chunk_size, chunk_data, chunk_crlf,
                     trailers, done };
  int fd = -1;
  State state = State::connecting;
  std::string out;          // request bytes not yet sent
  std::string in;           // received, not yet consumed by the parser
  std::uint64_t remaining = 0;  // body_length / chunk_data: bytes still expected
  HerdResult r;

  void finish(Outcome o) {
    r.outcome = o;
    r.done_at = Clock::now();
    state = State::done;
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

ClientHerd::ClientHerd(std::uint16_t port, std::vector<std::string> requests, Options opts)
    : port_(port), opts_(opts), requests_(std::move(requests)), abandon_(requests_.size()) {
  raise_fd_limit(requests_.size() + 256);
  for (std::size_t i = 0; i < requests_.size(); ++i) {
    clients_.push_back(std::make_unique<Client>());
    clients_.back()->out = requests_[i];
  }
}

ClientHerd::~ClientHerd() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (auto& c : clients_)
    if (c->fd >= 0) ::close(c->fd);
}

bool ClientHerd::connect_all() {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port_);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (auto& c : clients_) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      c->r.outcome = Outcome::connect_failed;
      c->state = Client::State::done;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (rc == 0) {
      c->state = Client::State::sending;
    } else if (errno != EINPROGRESS) {
      c->finish(Outcome::connect_failed);
    }
  }
  const auto deadline = Clock::now() + opts_.connect_timeout;
  for (;;) {
    std::vector<pollfd> pfds;
    std::vector<Client*> who;
    for (auto& c : clients_)
      if (c->state == Client::State::connecting) {
        pfds.push_back({c->fd, POLLOUT, 0});
        who.push_back(c.get());
      }
    if (pfds.empty()) break;
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) {
      for (Client* c : who) c->finish(Outcome::connect_failed);
      break;
    }
    int n = ::poll(pfds.data(), pfds.size(), static_cast<int>(left));
    if (n < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < pfds.size(); ++i) {
      if (pfds[i].revents == 0) continue;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(pfds[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) who[i]->finish(Outcome::connect_failed);
      else who[i]->state = Client::State::sending;
    }
  }
  return connected() == clients_.size();
}

std::size_t ClientHerd::connected() const {
  return static_cast<std::size_t>(
      std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->state == Client::State::sending; }));
}

void ClientHerd::start() {
  finished_ = static_cast<std::size_t>(std::count_if(
      clients_.begin(), clients_.end(), [](const auto& c) { return c->state == Client::State::done; }));
  thread_ = std::thread([this] { run(); });
}

void ClientHerd::abandon(std::size_t i) { abandon_.at(i) = true; }

bool ClientHerd::wait_finished(Millis timeout) const {
  const auto deadline = Clock::now() + timeout;
  while (finished_.load() < clients_.size()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::vector<HerdResult> ClientHerd::results() {
  if (thread_.joinable()) thread_.join();
  std::vector<HerdResult> out;
  for (auto& c : clients_) out.push_back(c->r);
  return out;
}

void ClientHerd::run() {
  const auto deadline = Clock::now() + opts_.run_timeout;
  std::vector<char> buf(256 * 1024);

  // Body bytes of client c: counted, hashed, kept up to keep_body.
  auto take_body = [&](Client* c, std::string_view bytes) {
    if (bytes.empty()) return;
    if (c->r.body_bytes == 0) c->r.first_byte_at = Clock::now();
    c->r.body_bytes += bytes.size();
    c->r.crc = crc32_of(bytes, c->r.crc);
    if (c->r.body.size() < opts_.keep_body)
      c->r.body.append(bytes.substr(0, opts_.keep_body - c->r.body.size()));
  };

  // Runs the parser over c->in as far as it goes.
  auto parse = [&](Client* c) {
    using S = Client::State;
    for (;;) {
      switch (c->state) {
        case S::head: {
          auto end = c->in.find("\r\n\r\n");
          if (end == std::string::npos) return;
          std::string_view head(c->in.data(), end);
          auto eol = head.find("\r\n");
          std::string_view line = head.substr(0, eol);
          if (line.substr(0, 5) != "HTTP/" || line.size() < 12) return c->finish(Outcome::malformed);
          c->r.status = std::atoi(std::string(line.substr(9, 3)).c_str());
          std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
          while (pos < head.size()) {
            auto e = head.find("\r\n", pos);
            if (e == std::string_view::npos) e = head.size();
            auto field = head.substr(pos, e - pos);
            auto colon = field.find(':');
            if (colon == std::string_view::npos) return c->finish(Outcome::malformed);
            c->r.headers.emplace_back(std::string(field.substr(0, colon)), std::string(trim(field.substr(colon + 1))));
            pos = e + 2;
          }
          c->in.erase(0, end + 4);
          c->r.head_at = Clock::now();
          ++heads_;
          auto te = c->r.header("Transfer-Encoding");
          auto cl = c->r.header("Content-Length");
          const bool bodyless = c->r.status == 204 || c->r.status == 304 || c->r.status / 100 == 1;
          if (bodyless) return c->finish(Outcome::response);
          if (te && te->find("chunked") != std::string::npos) {
            c->r.chunked = true;
            c->state = S::chunk_size;
          } else if (cl) {
            c->r.content_length = std::strtoull(cl->c_str(), nullptr, 10);
            c->remaining = *c->r.content_length;
            c->state = S::body_length;
          } else {
            c->state = S::body_close;
          }
          break;
        }
        case S::body_length: {
          std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(c->remaining, c->in.size()));
          take_body(c, std::string_view(c->in).substr(0, n));
          c->in.erase(0, n);
          c->remaining -= n;
          if (c->remaining == 0) return c->finish(Outcome::response);
          return;
        }
        case S::body_close:
          take_body(c, c->in);
          c->in.clear();
          return;
        case S::chunk_size: {
          auto eol = c->in.find("\r\n");
          if (eol == std::string::npos) return;
          c->remaining = std::strtoull(c->in.substr(0, eol).c_str(), nullptr, 16);
          c->in.erase(0, eol + 2);
          c->state = c->remaining == 0 ? S::trailers : S::chunk_data;
          break;
        }
        case S::chunk_data: {
          std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(c->remaining, c->in.size()));
          take_body(c, std::string_view(c->in).substr(0, n));
          c->in.erase(0, n);
          c->remaining -= n;
          if (c->remaining > 0) return;
          c->state = S::chunk_crlf;
          break;
        }
        case S::chunk_crlf:
          if (c->in.size() < 2) return;
          if (c->in.compare(0, 2, "\r\n") != 0) return c->finish(Outcome::malformed);
          c->in.erase(0, 2);
          c->state = S::chunk_size;
          break;
        case S::trailers: {
          auto eol = c->in.find("\r\n");
          if (eol == std::string::npos) return;
          c->in.erase(0, eol + 2);
          if (eol == 0) return c->finish(Outcome::response);
          break;
        }
        default:
          return;
      }
    }
  };

  std::vector<pollfd> pfds;
  std::vector<Client*> who;
  for (;;) {
    pfds.clear();
    who.clear();
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      Client* c = clients_[i].get();
      if (c->state == Client::State::done) continue;
      if (abandon_[i].load()) {
        c->finish(Outcome::closed);
        ++finished_;
        continue;
      }
      short ev = c->state == Client::State::sending ? POLLOUT : POLLIN;
      pfds.push_back({c->fd, ev, 0});
      who.push_back(c);
    }
    if (pfds.empty()) return;
    auto now = Clock::now();
    if (stop_.load() || now >= deadline) {
      for (Client* c : who) {
        c->finish(Outcome::timeout);
        ++finished_;
      }
      return;
    }
    int wait = static_cast<int>(std::min<long long>(
        50, std::chrono::duration_cast<Millis>(deadline - now).count() + 1));
    int n = ::poll(pfds.data(), pfds.size(), wait);
    if (n <= 0) continue;
    for (std::size_t i = 0; i < pfds.size(); ++i) {
      if (pfds[i].revents == 0) continue;
      Client* c = who[i];
      if (c->state == Client::State::sending) {
        ssize_t w = ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
        if (w > 0) {
          c->out.erase(0, static_cast<std::size_t>(w));
          if (c->out.empty()) {
            c->state = Client::State::head;
            ++sent_;
          }
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          c->finish(Outcome::reset);
          ++finished_;
        }
        continue;
      }
      // Read all that is there (bounded per round so one client cannot starve the rest).
      for (int round = 0; round < 4 && c->state != Client::State::done; ++round) {
        ssize_t got = ::recv(c->fd, buf.data(), buf.size(), 0);
        if (got > 0) {
          c->in.append(buf.data(), static_cast<std::size_t>(got));
          parse(c);
          if (c->state == Client::State::done) ++finished_;
          continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        // EOF or error: complete only if the body was close-delimited.
        const bool complete = got == 0 && c->state == Client::State::body_close;
        c->finish(complete ? Outcome::response : got == 0 ? Outcome::closed : Outcome::reset);
        ++finished_;
      }
    }
  }
}

XCacheCounts count_x_cache(const std::vector<HerdResult>& rs) {
  XCacheCounts n;
  for (const auto& r : rs) {
    auto x = r.header("X-Cache");
    if (!x) ++n.none;
    else if (*x == "MISS") ++n.miss;
    else if (*x == "HIT") ++n.hit;
    else if (*x == "COALESCED") ++n.coalesced;
    else if (*x == "STALE") ++n.stale;
    else ++n.none;
  }
  return n;
}

std::optional<double> edge_metric(std::uint16_t port, std::string_view name, std::string_view labels) {
  auto r = get(port, "/metrics", {}, 2s);
  if (!r.ok() || r.status != 200) return std::nullopt;
  return metric_value(r.body, name, labels);
}

bool wait_metric(std::uint16_t port, std::string_view name, std::string_view labels,
                 const std::function<bool(double)>& pred, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto v = edge_metric(port, name, labels);
    if (v && pred(*v)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// ---- EdgeTest -------------------------------------------------------------------

void EdgeTest::start(EdgeYaml y) {
  if (y.upstream_port == 0) y.upstream_port = origin_.port();
  daemon_ = Daemon::start(y.str());
  ASSERT_TRUE(daemon_.running()) << daemon_.error();
  port_ = daemon_.port();
  ASSERT_NE(port_, 0);
}

void EdgeTest::TearDown() {
  if (!daemon_.running()) return;
  HttpResponse r;
  const auto deadline = Clock::now() + 3s;
  do {
    r = ::hlscache::test::get(port_, "/healthz", {}, 2s);
    if (r.ok() && r.status == 200) break;
    std::this_thread::sleep_for(20ms);
  } while (Clock::now() < deadline);
  EXPECT_TRUE(r.ok() && r.status == 200) << "daemon no longer healthy: " << r.describe() << "\nlog:\n" << daemon_.log();
  auto st = daemon_.stop(SIGTERM, 10s);
  EXPECT_TRUE(st.exited && st.code == 0) << st.describe() << "\nlog:\n" << daemon_.log();
}

HttpResponse EdgeTest::get(std::string_view target, const std::vector<std::pair<std::string, std::string>>& headers,
                           Millis timeout) const {
  return ::hlscache::test::get(port_, target, headers, timeout);
}

HttpResponse EdgeTest::head(std::string_view target, Millis timeout) const {
  return ::hlscache::test::head(port_, target, timeout);
}

}  // namespace hlscache::test
