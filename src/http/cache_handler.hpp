// CacheHandler: the media route (DESIGN.md "Life of a request", steps 4-8). Key =
// normalized path+query (a Vary marker there points to the variant for this
// request's fields); fresh hit -> the stored Object (zero-copy; 304/206/gzip as
// asked); stale within grace -> served STALE unless the one conditional refresh
// answers within freshness.stale_wait; kept only for revalidation -> a conditional
// miss. Miss -> Coalescer: the Leader starts a fetch task owned by the coalescer
// (it outlives the client) writing through a LeaderSink, and every client — the
// leader's own and followers — streams the growing Fetch. A follower uses the
// leader's answer only if the ShareRule published with its head allows (a response
// a shared cache may store, matching Vary); otherwise it fetches on its own, as do
// requests on a key marked hit-for-miss and requests with Cache-Control: no-store.
// The fetch task inserts what may be stored before it releases the key.
// docs/http-caching.md names the RFC rule behind each branch.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>

#include "cache/cache.hpp"
#include "coalesce/coalescer.hpp"
#include "coalesce/leader_sink.hpp"
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

  // What a lookup found for one request: the object and where it is stored (the key
  // itself, or the variant key its Vary marker points to for this request).
  struct Found {
    LookupResult result;
    std::string store_key;
  };

 private:
  struct Miss;  // one request's miss: its config snapshot, key, request and how it is labelled
  Found lookup(const std::string& key, const RequestContext& req, TimePoint now);
  boost::asio::awaitable<Response> serve_stale(Miss& m, ObjectPtr stale, TimePoint now);
  boost::asio::awaitable<Response> serve_miss(Miss& m, ObjectPtr validatable, TimePoint now);
  // How a response streamed from a fetch is labelled (X-Cache, RFC 9211 Cache-Status, metrics).
  struct Label {
    CacheResult result = CacheResult::miss;
    bool follower = false;
    const char* fwd = "miss";      // Cache-Status fwd=
    const char* detail = nullptr;  // Cache-Status detail=
    static Label miss(const char* fwd) { return {CacheResult::miss, false, fwd, nullptr}; }
    static Label coalesced(const char* fwd) { return {CacheResult::coalesced, true, fwd, nullptr}; }
  };
  boost::asio::awaitable<Response> stream(Miss& m, FetchPtr fetch, Label label);
  // A fetch for this request alone (a pass, request no-store, or a follower that may not
  // use its leader's answer); `slot_reserved`: the coalescer already counted it in flight.
  boost::asio::awaitable<Response> fetch_alone(Miss& m, const char* why, bool slot_reserved);
  FetchPtr start_fetch(const boost::asio::any_io_executor& ex, Miss& m, ObjectPtr validating, FetchPtr fetch,
                       bool coalesced);
  boost::asio::awaitable<void> run_fetch(ConfigPtr config, SourceRequest sreq, std::shared_ptr<LeaderSink> sink,
                                         FetchPtr fetch, bool coalesced);
  void store(const Config& cfg, const LeaderSink& sink, const Fetch& fetch);

  ConfigHolder config_;
  Cache& cache_;
  Coalescer& coalescer_;
  Source& source_;
  const Clock& clock_;
};

// The request fields a miss forwards upstream: all but the hop-by-hop ones, Host,
// framing, Expect, the conditionals and Range (the cache sends its own), and the
// configured upstream.strip_request_headers.
std::vector<Header> forwarded_request_headers(const RequestContext& req, const Config& cfg);

// Builds the response for a stored object: Age, Cache-Status/X-Cache/Via,
// conditional requests (304), a single byte range (206/416), gzip for playlists.
Response respond_from_object(const ObjectPtr& obj, const RequestContext& req, TimePoint now, CacheResult result,
                             const std::string& server_name);

}  // namespace hlscache
