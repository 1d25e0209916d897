#include "source/h1_pool.hpp"

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <unordered_map>
#include <vector>

namespace hlscache::h1_upstream {

namespace {

thread_local std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> t_pools;

}  // namespace

Liveness probe(Connection& c) {
  if (c.buffer.size() > 0) return Liveness::readable;
  if (auto* tls = std::get_if<TlsStream>(&c.stream)) {
    // Records OpenSSL already holds (decrypted or not): whatever they are — data, a
    // close_notify, a TLS 1.3 ticket that came late — the connection is not idle.
    SSL* ssl = tls->native_handle();
    if (SSL_has_pending(ssl) == 1 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) return Liveness::readable;
  }
  const int fd = c.tcp().socket().native_handle();
  for (;;) {
    char byte;
    const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return Liveness::readable;  // over TLS this includes a close_notify not yet read
    if (n == 0) return Liveness::closed;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? Liveness::idle : Liveness::closed;
  }
}

std::unique_ptr<Connection> take_pooled(const std::string& key, PoolStats& stats) {
  auto it = t_pools.find(key);
  if (it == t_pools.end()) return nullptr;
  auto& pool = it->second;
  const TimePoint now = SteadyClock::now();
  while (!pool.empty()) {
    auto c = std::move(pool.back());
    pool.pop_back();
    if (now >= c->reuse_until) {
      stats.count(Discard::expired);
      continue;
    }
    const Liveness l = probe(*c);
    if (l == Liveness::idle) {
      stats.reuses.fetch_add(1, std::memory_order_relaxed);
      return c;
    }
    stats.count(l == Liveness::closed ? Discard::peer_closed : Discard::unsolicited);
  }
  return nullptr;
}

void give_back(const std::string& key, std::unique_ptr<Connection> c, std::size_t max, Duration window,
               PoolStats& stats) {
  if (max == 0) return;
  auto& pool = t_pools[key];
  const TimePoint now = SteadyClock::now();
  std::erase_if(pool, [&](const auto& idle) {
    if (now < idle->reuse_until) return false;
    stats.count(Discard::expired);
    return true;
  });
  if (pool.size() >= max) pool.erase(pool.begin());  // the oldest makes room
  c->reuse_until = now + window;
  pool.push_back(std::move(c));
}

void drop_pooled(std::string_view prefix) {
  std::erase_if(t_pools, [&](const auto& entry) { return std::string_view(entry.first).starts_with(prefix); });
}

}  // namespace hlscache::h1_upstream
