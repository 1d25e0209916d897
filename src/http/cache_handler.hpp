// CacheHandler: the media route's HTTP side. The miss path (miss/miss_path.hpp) does
// the caching — lookup, coalescing, the fetch, the insert — and answers with one
// CacheAnswer; this handler only turns that into a response: a stored object with
// its Age, Cache-Status, X-Cache and Via (and 304/206/gzip as the request asks,
// object_response.cpp), a streamed answer's head with the body from the Fetch, or
// the 502/503/504 a failure or a refusal gets. A fresh hit takes answer_now: plain
// calls, no coroutine frame.
#pragma once

#include <memory>

#include "cache/cache.hpp"
#include "coalesce/coalescer.hpp"
#include "config/config.hpp"
#include "config/config_holder.hpp"
#include "http/handler.hpp"
#include "miss/miss_path.hpp"
#include "source/source.hpp"

namespace hlscache {

class CacheHandler final : public Handler {
 public:
  CacheHandler(ConfigPtr config, Cache& cache, Coalescer& coalescer, Source& source, const Clock& clock);
  boost::asio::awaitable<Response> handle(RequestContext& request) override;
  std::optional<Response> answer_now(RequestContext& request) override;  // a fresh hit
  // Reload: freshness/TTL rules, key_ignore_params and server_name apply to the
  // requests and fetches after it (each reads one snapshot).
  void reconfigure(ConfigPtr config) { config_.set(std::move(config)); }
  std::uint64_t stream_restarts() const { return miss_.stream_restarts(); }

 private:
  ConfigHolder config_;
  MissPath miss_;
  const Clock& clock_;
};

// The response for an answer of the miss path (all but `stored` use no clock).
Response respond_to(CacheAnswer answer, const RequestContext& req, TimePoint now, const std::string& server_name);

// Builds the response for a stored object: Age, Cache-Status/X-Cache/Via,
// conditional requests (304), a single byte range (206/416), gzip for playlists.
Response respond_from_object(const ObjectPtr& obj, const RequestContext& req, TimePoint now, CacheResult result,
                             const std::string& server_name);

}  // namespace hlscache
