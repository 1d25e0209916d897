// AdminHandler: /admin/* — purge, streams, config, load. Off (404) unless the
// running config has admin.token; every request needs `Authorization: Bearer
// <token>`, compared in constant time (both sides hashed with SHA-256 first, then
// CRYPTO_memcmp over the digests, so neither content nor length leaks through
// timing); wrong or missing -> 401 with WWW-Authenticate: Bearer. Authentication
// comes before routing, so an unauthenticated client learns nothing about paths.
//   POST|DELETE /admin/purge?key=PATH     one object (the key normalized like a request's)
//   POST|DELETE /admin/purge?prefix=P     every key starting with P
//   GET /admin/streams                    live streams (role local; [] elsewhere)
//   GET /admin/config                     the effective config as YAML, secrets redacted
//   GET /admin/load                       the capacity estimate as JSON
#pragma once

#include <functional>
#include <string>

#include "cache/cache.hpp"
#include "config/config_holder.hpp"
#include "http/handler.hpp"
#include "metrics/load_estimator.hpp"

namespace hlscache {

class AdminHandler final : public Handler {
 public:
  using StreamsJson = std::function<std::string(TimePoint now)>;  // a JSON array
  AdminHandler(const ConfigHolder& config, Cache* cache, const LoadEstimator& load, StreamsJson streams)
      : config_(config), cache_(cache), load_(load), streams_(std::move(streams)) {}

  boost::asio::awaitable<Response> handle(RequestContext& request) override;
  Response answer(const RequestContext& request);  // the whole work; synchronous

 private:
  Response purge(const RequestContext& request, const Config& cfg);

  const ConfigHolder& config_;
  Cache* cache_;
  const LoadEstimator& load_;
  StreamsJson streams_;
};

// Constant-time token check (SHA-256 both, CRYPTO_memcmp). An empty `expected` never matches.
bool token_matches(std::string_view presented, std::string_view expected);
// "%2Flive%2F" -> "/live/"; '+' stays '+'. nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);
// The value of query parameter `name` (first occurrence, still encoded); nullopt if absent.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

}  // namespace hlscache
