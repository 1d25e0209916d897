// Freshness: whether a shared cache may store a response (RFC 9111 §3), for how
// long it is fresh (§4.2.1, with the live-HLS rules as heuristic freshness, §4.2.2),
// how old it already is (§4.2.3), whether it may be served stale, and what of it
// must never be served from the store. The directives come from the first valid
// targeted field of the configured list (RFC 9213: CDN-Cache-Control), else from
// Cache-Control and Expires. Pure: no clock.
// docs/http-caching.md gives the rule behind every branch.
#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/object.hpp"
#include "config/config.hpp"

namespace hlscache {

// A response as it arrived, and what the freshness rules need of its request.
struct ResponseFacts {
  int status = 200;
  const std::vector<Header>* headers = nullptr;  // as received (Date, Age, Expires, Cache-Control, Vary, ...)
  std::string_view path;                         // the request's path (media kind, path rules)
  std::string_view body;                         // a playlist's text (empty otherwise)
  bool request_authorization = false;            // the request carried Authorization (§3.5)
  std::time_t response_wall = 0;                 // our clock when the head arrived (seconds)
  Duration response_delay{0};                    // head arrival - request sent (§4.2.3)
  bool ahead_of_live = false;  // a segment ahead of its stream's live edge (miss/live_edge.hpp)
};

struct FreshnessDecision {
  bool storable = false;  // a shared cache may store it (§3) — and so hand it to collapsed requests
  bool store = false;     // storable and worth keeping: fresh, servable stale, or revalidatable
  Duration lifetime{0};   // freshness_lifetime (§4.2.1)
  Duration ttl{0};        // fresh for this long from receipt: lifetime - initial_age, >= 0
  Duration grace{0};      // then servable stale this long (operator grace, stale-while-revalidate, stale-if-error)
  Duration keep{0};       // then kept only to revalidate conditionally (it has a validator)
  Duration initial_age{0};  // corrected_initial_age (§4.2.3): Age on a hit adds the time since receipt
  bool heuristic = false;   // the lifetime is ours (§4.2.2), the upstream gave none
  bool revalidate_always = false;  // no-cache: stored only to revalidate before each use
  bool personal = false;           // private, no-store, or an Authorization answer: never anyone else's, errors included
  bool request_specific = false;   // refused because of the request (Authorization), not of what the response says
  std::vector<std::string> strip;  // fields never served from the store: no-cache="f", private="f", Set-Cookie
  std::vector<std::string> vary;   // request fields (lowercase) the response varies on; empty: none
  std::string directives = "none";  // which field decided: a targeted field's name, "Cache-Control", "none"
  const char* reason = "";          // why (logs and tests)
};

FreshnessDecision decide_freshness(const ResponseFacts& response, const FreshnessConfig& cfg);

}  // namespace hlscache
