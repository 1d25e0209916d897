// CacheHandler: the media route (DESIGN.md "Life of a request", steps 4-8). Key =
// normalized path+query; fresh hit -> the stored Object (zero-copy; 304/206/gzip
// as asked); stale within grace -> served STALE while one background refresh runs
// through the coalescer; miss -> Coalescer: the Leader starts a fetch task owned
// by the coalescer (it outlives the client), and every client — leader's own and
// followers — streams the growing Fetch. The fetch task inserts the finished
// object (freshness from cache/freshness.hpp) before releasing the key.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>

#include "cache/cache.hpp"
#include "coalesce/coalescer.hpp"
#include "config/config.hpp"
#include "config/config_holder.hpp"
#include "http/handler.hpp"
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

 private:
  boost::asio::awaitable<Response> serve_stale(const Config& cfg, const boost::asio::any_io_executor& ex,
                                               const std::string& key, RequestContext& req, ObjectPtr stale, TimePoint now);
  boost::asio::awaitable<Response> serve_miss(const Config& cfg, Coalescer::Ticket ticket, bool revalidated = false);
  void start_fetch(const boost::asio::any_io_executor& ex, const std::string& key, const RequestContext& req,
                   FetchPtr fetch);
  boost::asio::awaitable<void> run_fetch(std::string key, std::string path, SourceRequest sreq, FetchPtr fetch);
  ObjectPtr build_object(const Config& cfg, const std::string& path, const Fetch& fetch, TimePoint now) const;

  ConfigHolder config_;
  Cache& cache_;
  Coalescer& coalescer_;
  Source& source_;
  const Clock& clock_;
};

// Builds the response for a stored object: Age, Cache-Status/X-Cache/Via,
// conditional requests (304), a single byte range (206/416), gzip for playlists.
Response respond_from_object(const ObjectPtr& obj, const RequestContext& req, TimePoint now, CacheResult result,
                             const std::string& server_name);

}  // namespace hlscache
