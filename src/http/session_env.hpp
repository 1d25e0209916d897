// SessionEnv: what every session of a listener shares (config, handler, metrics,
// drain state), and ConnectionSet, a thread's registry of its open connections
// so a drain can close the idle ones at once. One ConnectionSet per io_context,
// only ever touched from that io_context's thread: no lock.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_set>

#include "config/config.hpp"
#include "config/config_holder.hpp"
#include "core/clock.hpp"
#include "http/handler.hpp"
#include "metrics/access_log.hpp"
#include "metrics/load_estimator.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

// Draining (SIGTERM): the listeners stay open until the drain ends, so a probe sees
// /readyz 503 instead of a refused connection; every other new request is answered 503
// with Retry-After (the seconds left of the drain) and Connection: close (http/router.cpp).
struct DrainState {
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> deadline_ns{0};  // steady clock, when the drain ends at the latest
  // Seconds left until the drain deadline, rounded up, at least 1 (Retry-After).
  int retry_after_s(TimePoint now) const {
    const std::int64_t left = deadline_ns.load(std::memory_order_relaxed) -
                              std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    return static_cast<int>(std::max<std::int64_t>(1, (left + 999'999'999) / 1'000'000'000));
  }
};

struct ConnectionHandle {
  std::function<void()> close;  // cancels the connection's I/O (HTTP/2: GOAWAY, then close once flushed)
  std::function<void()> drain;  // optional: tell the peer no new requests will be taken (HTTP/2 GOAWAY)
  bool busy = false;            // a request is being answered
  // An HTTP/1.1 connection accepted while draining (a probe, or a request to be told 503):
  // not closed as idle before its first request, which it answers and then closes.
  bool accepted_draining = false;
};

class ConnectionSet {
 public:
  void add(ConnectionHandle* h) { set_.insert(h); }
  void remove(ConnectionHandle* h) { set_.erase(h); }
  void close_idle() {
    for (auto* h : std::unordered_set<ConnectionHandle*>(set_)) {
      if (h->drain) h->drain();
      if (!h->busy && !h->accepted_draining) h->close();
    }
  }
  void close_all() {
    for (auto* h : std::unordered_set<ConnectionHandle*>(set_)) h->close();
  }
  std::size_t size() const { return set_.size(); }

 private:
  std::unordered_set<ConnectionHandle*> set_;
};

struct SessionEnv {
  ConfigPtr config;                  // the config at start (listeners)
  const ConfigHolder* live = nullptr;  // the running config (reloads): sessions snapshot it when they start
  Handler* handler = nullptr;
  Metrics* metrics = nullptr;
  DrainState* drain = nullptr;
  AccessLog* access_log = nullptr;   // null or !enabled(): off
  const LoadEstimator* load = nullptr;  // admission control: refusing() -> new connections are served by `shedding`
  // The environment of connections accepted while admission control sheds: its handler
  // answers probes and 503s everything else (http/shed_handler.hpp). Null: refuse at accept.
  const SessionEnv* shedding = nullptr;
  ConfigPtr current_config() const { return live ? live->get() : config; }
};

// One access-log line for a response (both HTTP/1.1 and HTTP/2 sessions call it).
void log_access(const SessionEnv& env, const RequestContext& req, const Response& resp, std::uint64_t body_bytes);

}  // namespace hlscache
