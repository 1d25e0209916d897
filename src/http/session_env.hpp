// SessionEnv: what every session of a listener shares (config, handler, metrics,
// drain state), and ConnectionSet, a thread's registry of its open connections
// so a drain can close the idle ones at once. One ConnectionSet per io_context,
// only ever touched from that io_context's thread: no lock.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <unordered_set>

#include "config/config.hpp"
#include "config/config_holder.hpp"
#include "http/handler.hpp"
#include "metrics/access_log.hpp"
#include "metrics/load_estimator.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

struct DrainState {
  std::atomic<bool> draining{false};
};

struct ConnectionHandle {
  std::function<void()> close;  // cancels the connection's I/O (HTTP/2: GOAWAY, then close once flushed)
  std::function<void()> drain;  // optional: tell the peer no new requests will be taken (HTTP/2 GOAWAY)
  bool busy = false;            // a request is being answered
};

class ConnectionSet {
 public:
  void add(ConnectionHandle* h) { set_.insert(h); }
  void remove(ConnectionHandle* h) { set_.erase(h); }
  void close_idle() {
    for (auto* h : std::unordered_set<ConnectionHandle*>(set_)) {
      if (h->drain) h->drain();
      if (!h->busy) h->close();
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
  const LoadEstimator* load = nullptr;  // admission control: refusing() -> new connections get 503
  ConfigPtr current_config() const { return live ? live->get() : config; }
};

// One access-log line for a response (both HTTP/1.1 and HTTP/2 sessions call it).
void log_access(const SessionEnv& env, const RequestContext& req, const Response& resp, std::uint64_t body_bytes);

}  // namespace hlscache
