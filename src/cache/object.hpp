// Object: one cached HTTP response — status, stored end-to-end headers, and the
// body as a list of shared chunks. Immutable once built; shared as
// shared_ptr<const Object> so a session can keep writing a body the cache has
// already evicted (eviction only unlinks). Chunks are shared with the
// coalescer's growing body, so a completed fetch becomes an Object without copying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/chunk.hpp"
#include "core/clock.hpp"
#include "core/http_fields.hpp"

namespace hlscache {

struct Object {
  int status = 200;
  std::vector<Header> headers;  // end-to-end response headers as stored (the origin's Date kept; no hop-by-hop, no Age)
  std::vector<Chunk> body;
  std::uint64_t body_size = 0;

  TimePoint stored_at{};    // when it entered the cache (Age is computed from it)
  Duration initial_age{0};  // corrected initial age when received (RFC 9111 §4.2.3); Age = this + time since stored_at
  TimePoint fresh_until{};  // served as a hit before this instant
  TimePoint stale_until{};  // after fresh_until and before this: servable as stale (grace)
  TimePoint keep_until{};   // after that and before this: kept only to revalidate (has a validator); then gone

  // A Vary marker (status 0, no body) stands at a key whose responses vary: the
  // request fields they vary on, and the variants stored (their vary values, oldest
  // first, at most cache.max_variants). Each variant is an object of its own under
  // the key variant_key(key, values) (cache/vary.hpp).
  std::vector<std::string> vary;
  std::vector<std::string> variants;
  bool is_vary_marker() const { return status == 0; }
  TimePoint expires_at() const { return std::max({fresh_until, stale_until, keep_until}); }

  std::shared_ptr<const Object> gzipped;  // playlists: the same body gzip-compressed, made once per version

  // The stored headers as HTTP/1.1 lines ("Name: value\r\n"), serialized once when the
  // object is built so a hit copies one block; Via and Cache-Status are kept apart
  // (a hit appends its own member to the upstream's list).
  std::string wire_headers;
  std::string upstream_via;
  std::string upstream_cache_status;

  bool has_date = false;      // headers carry Date (set by serialize_headers): a hit sends no Date of its own
  std::string etag;           // strong or weak validator, as sent ("\"abc\"", W/"x")
  std::string last_modified;  // HTTP-date as sent

  // Bytes this object costs the cache: bodies by chunk capacity, plus headers and
  // a fixed per-object overhead for the index node, the policy hook and this struct.
  static constexpr std::size_t kOverhead = 256;
  std::size_t charge(std::size_t key_size) const {
    std::size_t c = kOverhead + key_size + sizeof(Object) + etag.size() + last_modified.size() + wire_headers.size() +
                    upstream_via.size() + upstream_cache_status.size();
    for (const auto& [k, v] : headers) c += k.size() + v.size() + 2 * sizeof(std::string);
    for (const auto& v : vary) c += v.size() + sizeof(std::string);
    for (const auto& v : variants) c += v.size() + sizeof(std::string);
    for (const auto& ch : body) c += ch.capacity + sizeof(Chunk);
    if (gzipped) c += gzipped->charge(0);
    return c;
  }

  std::string_view header(std::string_view name) const;  // first value, case-insensitive; "" if absent
  std::string body_string() const;                       // a copy, for tests and small objects
  void serialize_headers();  // fills wire_headers, upstream_via, upstream_cache_status from headers
  bool fresh(TimePoint now) const { return now < fresh_until; }
};

using ObjectPtr = std::shared_ptr<const Object>;

}  // namespace hlscache
