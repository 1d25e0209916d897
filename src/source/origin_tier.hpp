// OriginTier: the Source for edges and origins — HTTP/1.1 (Beast, coroutines) to the
// configured upstream hosts, with a per-thread pool of idle keep-alive connections
// (bounded by upstream.pool_per_thread), deadlines for connect, first byte, each
// body read, and the whole fetch. Only GET goes upstream; hop-by-hop headers are
// dropped both ways and Via is added. The body is read straight into the Fetch's
// chunks, so followers see bytes as they arrive. One host is picked per key by
// pick_host(): the seam for the consistent-hash ring.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "source/source.hpp"

namespace hlscache {

class OriginTier final : public Source {
 public:
  OriginTier(ConfigPtr config, Metrics& metrics);
  ~OriginTier() override;
  boost::asio::awaitable<void> fetch(SourceRequest request, FetchPtr into) override;

  const HostPort& pick_host(const std::string& key) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hlscache
