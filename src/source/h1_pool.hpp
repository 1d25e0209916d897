// This thread's idle HTTP/1.1 upstream connections, per pool key (tier, group, host,
// transport). A fetch runs on one io_context thread from start to end, so the pool
// needs no lock. What goes in was read to the end of its response (h1_connection's
// reusable()); each waits at most its reuse window (upstream.pool_idle, cut short by
// the upstream's Keep-Alive timeout). Before one is handed out it is probed without
// blocking (recv MSG_PEEK|MSG_DONTWAIT; over TLS also what OpenSSL holds): a peer
// close, an error or any byte nobody asked for means it is closed, and the next one
// is tried. The most recently returned goes first: the least likely to be closed.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "metrics/metrics.hpp"
#include "source/h1_connection.hpp"

namespace hlscache::h1_upstream {

// Why an idle connection was closed instead of reused.
enum class Discard : std::size_t { peer_closed, unsolicited, expired };
inline constexpr std::array<const char*, 3> kDiscardNames = {"peer_closed", "unsolicited", "expired"};

struct PoolStats {
  Counter reuses{0};                       // idle connections handed out again
  std::array<Counter, 3> discarded{};      // by Discard
  Counter stale_retries{0};                // reused connections that failed before any response byte (retried on a new one)
  void count(Discard d) { discarded[static_cast<std::size_t>(d)].fetch_add(1, std::memory_order_relaxed); }
};

// What a probe that does not block says about an idle connection.
enum class Liveness { idle, closed, readable };
Liveness probe(Connection& c);

// The most recently returned idle connection to `key` that is within its window and
// probes idle; nullptr if none (the caller connects). Those found unusable are closed.
std::unique_ptr<Connection> take_pooled(const std::string& key, PoolStats& stats);

// Keeps `c` for `window` if `max` > 0 (the oldest idle one makes room); drops the
// key's connections whose window has passed.
void give_back(const std::string& key, std::unique_ptr<Connection> c, std::size_t max, Duration window,
               PoolStats& stats);

// Closes this thread's idle connections whose pool key starts with `prefix`.
void drop_pooled(std::string_view prefix);

}  // namespace hlscache::h1_upstream
