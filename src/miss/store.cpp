#include "miss/store.hpp"

#include <algorithm>

#include "cache/freshness.hpp"
#include "cache/media.hpp"
#include "cache/vary.hpp"
#include "core/gzip.hpp"
#include "core/http_fields.hpp"
#include "core/strings.hpp"
#include "miss/stream_restart.hpp"

namespace hlscache {

void store_answer(Cache& cache, Coalescer& coalescer, const Config& cfg, const LeaderSink& sink, const Fetch& fetch,
                  TimePoint now, std::atomic<std::uint64_t>& stream_restarts, LiveEdges& live_edges) {
  const LeaderRequest& lr = sink.request();
  if (lr.no_store) return;  // RFC 9111 §5.2.1.5
  ResponseHead head = fetch.head();
  std::vector<Chunk> chunks = fetch.body_chunks();
  std::uint64_t size = 0;
  for (const auto& c : chunks) size += c.size;
  const MediaKind kind = media_kind(lr.path, field_value(head.headers, "Content-Type"));
  std::string body_text;
  if (kind == MediaKind::playlist && size <= (4u << 20)) {
    body_text.reserve(size);
    for (const auto& c : chunks) body_text.append(c.view());
  }
  // Stored or not, it says where its stream stands now.
  if (kind == MediaKind::playlist && head.status == 200) live_edges.playlist(lr.key, body_text, now);
  const FreshnessDecision d = decide_freshness(
      ResponseFacts{head.status, &head.headers, lr.path, body_text, lr.authorization, sink.response_wall(),
                    sink.response_delay(), lr.ahead_of_live},
      cfg.freshness);
  if (d.storable) coalescer.clear_uncacheable(lr.key);  // the key's answers may be shared again
  if (!d.store) {
    // What the upstream says now about the object we were refreshing: not to be kept, so
    // that copy goes too (unless something newer was stored meanwhile). A refusal for the
    // request's own sake (Authorization) says nothing about the object.
    if (!d.storable && !d.request_specific && head.status < 500 && lr.validating)
      cache.erase_if_same(lr.store_key, lr.validating);
    return;
  }
  auto obj = std::make_shared<Object>();
  obj->status = head.status;
  obj->headers = std::move(head.headers);
  // Age is recomputed from initial_age on every hit; X-Cache is ours to say; the fields
  // the directives keep from the store (Set-Cookie, no-cache="f", private="f") go.
  std::erase_if(obj->headers, [&](const Header& h) {
    if (iequal(h.first, "Age") || iequal(h.first, "X-Cache")) return true;
    return std::any_of(d.strip.begin(), d.strip.end(), [&](const std::string& s) { return iequal(s, h.first); });
  });
  obj->body = std::move(chunks);
  obj->body_size = size;
  obj->stored_at = sink.response_time();
  obj->initial_age = d.initial_age;
  obj->fresh_until = obj->stored_at + d.ttl;
  obj->stale_until = obj->fresh_until + d.grace;
  obj->keep_until = d.keep > Duration::zero() ? obj->stale_until + d.keep : TimePoint{};
  obj->serialize_headers();
  obj->etag = std::string(obj->header("ETag"));
  obj->last_modified = std::string(obj->header("Last-Modified"));
  const bool encoded = !obj->header("Content-Encoding").empty();
  if (kind == MediaKind::playlist && cfg.freshness.gzip_playlists && !encoded && obj->status == 200 &&
      !body_text.empty()) {
    if (auto gz = gzip_compress(body_text)) {
      // Both copies vary on Accept-Encoding now, besides whatever the upstream named.
      if (auto vary = combined_field(obj->headers, "Vary")) {
        bool names_ae = false;
        for_each_member(*vary, [&](std::string_view n) { names_ae = names_ae || iequal(n, "Accept-Encoding") || n == "*"; });
        if (!names_ae) {
          remove_field(obj->headers, "Vary");
          obj->headers.emplace_back("Vary", *vary + ", Accept-Encoding");
          obj->serialize_headers();
        }
      }
      auto z = std::make_shared<Object>();
      z->status = 200;
      z->headers = obj->headers;
      z->headers.emplace_back("Content-Encoding", "gzip");
      z->body.push_back(Chunk::copy_of(*gz));
      z->body_size = gz->size();
      z->serialize_headers();
      obj->gzipped = std::move(z);
    }
  }
  if (purge_if_restarted(cache, lr.store_key.empty() ? std::string_view(lr.key) : std::string_view(lr.store_key), kind,
                         *obj, body_text))
    stream_restarts.fetch_add(1, std::memory_order_relaxed);
  const std::vector<std::string> vary = forwarded_vary(d.vary, cfg.upstream.strip_request_headers);
  if (vary.empty()) {
    cache.insert(lr.key, std::move(obj), now);
  } else {
    // One variant per combination of the Vary'd request fields (as forwarded upstream);
    // the marker is rebuilt from the one stored now, under its shard's lock.
    const std::string values = vary_values(vary, lr.forwarded);
    const TimePoint expires = obj->expires_at();
    cache.insert(variant_key(lr.key, values), std::move(obj), now);
    std::vector<std::string> evicted;
    cache.insert_with(
        lr.key,
        [&](const ObjectPtr& current) {
          evicted.clear();
          return make_vary_marker(current.get(), vary, values, expires, cfg.cache.max_variants, evicted);
        },
        now);
    for (const auto& e : evicted) cache.erase(variant_key(lr.key, e));
  }
}

}  // namespace hlscache
