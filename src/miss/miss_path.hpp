// MissPath: the one owner of a cache request below the HTTP layer. From the first
// lookup to the insert it does everything a request for a cacheable object needs —
// the lookup (fresh, stale within grace, kept only to revalidate, a Vary marker), the
// coalescer (leader, follower, hit-for-miss pass, overload), the fetch task (source →
// LeaderSink → Fetch, conditional when a validator is kept; for a segment ahead of the
// live edge, the longer first-byte wait and the "not found" never kept, live_edge.hpp),
// the object build and the insert — and hands the HTTP layer one CacheAnswer, which
// that layer only turns into a response. Each request gets exactly one
// CacheAnswer::result (HIT, MISS, COALESCED or STALE; NONE for a refusal), which the
// session counts once: those counts are the hlscache_cache_*_total metrics.
//
// It never touches sockets or sessions: 103 Early Hints go out through the request's
// InterimWriter, the body through the Fetch the answer names.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

#include "cache/cache.hpp"
#include "coalesce/coalescer.hpp"
#include "coalesce/fetch.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/request.hpp"
#include "core/response_sink.hpp"
#include "metrics/metrics.hpp"
#include "miss/live_edge.hpp"
#include "source/source.hpp"

namespace hlscache {

struct CacheAnswer {
  enum class Kind : std::uint8_t {
    stored,    // `object`: a fresh hit, or a stale copy (result STALE)
    streamed,  // `head` now, the body from `fetch` as it arrives (a leader's or a follower's)
    refused,   // not served: `status` 503 (overloaded; Retry-After) or 504 (only-if-cached)
    failed,    // the upstream failed: `status` 502, or 504 on a timeout
  };
  Kind kind = Kind::failed;
  CacheResult result = CacheResult::none;  // what this request counts as, once
  ObjectPtr object;
  FetchPtr fetch;
  ResponseHead head;  // the fields a follower may not get are already gone
  int status = 0;
  std::string reason;
  bool retry_after = false;
  // RFC 9211 Cache-Status of a streamed or failed answer: fwd=, collapsed, detail=.
  const char* fwd = "miss";
  bool collapsed = false;
  const char* detail = nullptr;
  double waited_ms = 0;  // until the head (or the failure) came
};

class MissPath {
 public:
  MissPath(Cache& cache, Coalescer& coalescer, Source& source, const Clock& clock);

  // The fresh stored object for the request, or null: plain calls, no coroutine (the
  // hit path). Keeps the normalized key in req.cache_key for resolve().
  ObjectPtr fresh(RequestContext& req, const Config& cfg, TimePoint now) const;

  // Everything else. `config` is the snapshot the request runs under; the fetch it may
  // start holds it until the fetch ends.
  boost::asio::awaitable<CacheAnswer> resolve(RequestContext& req, ConfigPtr config);

  // Streams the restart watch found restarted (their cached objects purged).
  std::uint64_t stream_restarts() const { return stream_restarts_.load(std::memory_order_relaxed); }

 private:
  struct Miss;
  struct Found {
    LookupResult result;
    std::string store_key;
  };
  Found lookup(const std::string& key, const RequestContext& req, TimePoint now) const;
  boost::asio::awaitable<CacheAnswer> serve_miss(Miss& m, ObjectPtr validatable, TimePoint now);
  boost::asio::awaitable<CacheAnswer> serve_stale(Miss& m, ObjectPtr stale, TimePoint now);
  boost::asio::awaitable<CacheAnswer> fetch_alone(Miss& m, const char* why, bool slot_reserved);
  boost::asio::awaitable<CacheAnswer> follow(Miss& m, FetchPtr fetch, bool follower, const char* fwd,
                                             const char* detail);
  void start_fetch(Miss& m, ObjectPtr validating, const FetchPtr& fetch, bool coalesced);

  Cache& cache_;
  Coalescer& coalescer_;
  Source& source_;
  const Clock& clock_;
  std::atomic<std::uint64_t> stream_restarts_{0};
  LiveEdges live_edges_;
};

// The request fields a miss forwards upstream: all but the hop-by-hop ones, Host,
// framing, Expect, the conditionals and Range (the cache sends its own), and the
// configured upstream.strip_request_headers.
std::vector<Header> forwarded_request_headers(const RequestContext& req, const Config& cfg);

}  // namespace hlscache
