// Source: where misses go. The cache handler's Leader calls fetch(), which fills a
// ResponseSink (head, then body bytes as they arrive, then complete or fail) — in
// the end the coalescer's Fetch, the growing object every Follower streams from. OriginTier fetches over HTTP from
// upstream hosts; SegmenterSource answers from the in-process segmenter.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/response_sink.hpp"

namespace hlscache {

struct SourceRequest {
  std::string key;                  // normalized cache key (the ring hashes it)
  std::string target;               // what the client asked for, query included (origins may need tokens)
  std::vector<Header> headers;      // end-to-end request headers to forward
  std::string client_address;       // for X-Forwarded-For
  // Set by the miss path for a segment ahead of its stream's live edge: the upstream
  // may hold the request until the segment exists, so its response head may take this
  // long (instead of timeouts.upstream_first_byte), and not getting it in time is no
  // fault of the host.
  std::optional<Duration> held_first_byte;
};

class Source {
 public:
  virtual ~Source() = default;
  // Fills `into`; must end with into->complete() or into->fail(...), whatever happens.
  virtual boost::asio::awaitable<void> fetch(SourceRequest request, SinkPtr into) = 0;
  virtual void collect_metrics(std::string& /*out*/) const {}
  // Reload (SIGHUP) passed a config that needs no restart: a source applies what it
  // can change in place (OriginTier: upstream groups, routes, pools). Called on the
  // control thread while requests run; the default keeps what it has.
  virtual void reconfigure(const ConfigPtr& /*config*/) {}
  // Why misses cannot be answered now ("" when they can): what /readyz reports.
  virtual std::string not_ready(TimePoint /*now*/) const { return {}; }
};

}  // namespace hlscache
