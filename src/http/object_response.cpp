// Serving a stored Object: headers (Age, Cache-Status, X-Cache, Via), conditional
// requests, one byte range, and the gzip variant of playlists.
#include <fmt/format.h>
#include <strings.h>

#include <charconv>
#include <ctime>

#include "http/cache_handler.hpp"
#include "core/http_fields.hpp"
#include "core/strings.hpp"
#include "http/wire.hpp"

namespace hlscache {

namespace {


std::string_view opaque_tag(std::string_view etag) {  // weak comparison: ignore W/
  etag = trim(etag);
  if (etag.size() > 2 && etag[0] == 'W' && etag[1] == '/') etag.remove_prefix(2);
  return etag;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (etag.empty()) return false;
  if (trim(if_none_match) == "*") return true;
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    if (opaque_tag(if_none_match.substr(0, comma)) == opaque_tag(etag)) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}


// A qvalue of zero ("0", "0.", "0.0", ... "0.000") means "not acceptable" (RFC 9110 §12.4.2).
bool qvalue_is_zero(std::string_view params) {
  auto q = params.find("q=");
  if (q == std::string_view::npos) return false;
  auto v = params.substr(q + 2);
  v = trim(v.substr(0, v.find(';')));
  if (v.empty() || v.front() != '0') return false;
  v.remove_prefix(1);
  return v.empty() || (v.front() == '.' && v.find_first_not_of('0', 1) == std::string_view::npos);
}

bool accepts_gzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    auto comma = accept_encoding.find(',');
    auto item = trim(accept_encoding.substr(0, comma));
    auto semi = item.find(';');
    auto coding = trim(item.substr(0, semi));
    if (coding.size() == 4 && ::strncasecmp(coding.data(), "gzip", 4) == 0) {
      auto params = semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
      return !qvalue_is_zero(params);
    }
    if (comma == std::string_view::npos) break;
    accept_encoding.remove_prefix(comma + 1);
  }
  return false;
}

struct ByteRange {
  std::uint64_t first = 0, last = 0;
};
enum class RangeParse { none, ok, unsatisfiable };

// One range of "bytes=a-b", "bytes=a-", "bytes=-n"; anything else (several ranges,
// other units, garbage) is ignored and the whole object is sent, as RFC 9110 allows.
RangeParse parse_range(std::string_view h, std::uint64_t size, ByteRange& out) {
  h = trim(h);
  if (h.substr(0, 6) != "bytes=") return RangeParse::none;
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return RangeParse::none;
  auto dash = h.find('-');
  if (dash == std::string_view::npos) return RangeParse::none;
  auto a = trim(h.substr(0, dash)), b = trim(h.substr(dash + 1));
  auto num = [](std::string_view s, std::uint64_t& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
  };
  std::uint64_t x = 0, y = 0;
  if (a.empty()) {  // suffix: the last y bytes
    if (!num(b, y)) return RangeParse::none;
    if (y == 0 || size == 0) return RangeParse::unsatisfiable;
    out = {size - std::min(y, size), size - 1};
    return RangeParse::ok;
  }
  if (!num(a, x)) return RangeParse::none;
  if (b.empty()) y = size ? size - 1 : 0;
  else if (!num(b, y) || y < x) return RangeParse::none;
  if (x >= size) return RangeParse::unsatisfiable;
  out = {x, std::min(y, size - 1)};
  return RangeParse::ok;
}

// Age (RFC 9111 §4.2.3, §5.1): the corrected initial age plus the time since receipt, in whole seconds.
long long age_seconds(const Object& obj, TimePoint now) {
  return std::max<long long>(0, std::chrono::duration_cast<std::chrono::seconds>(now - obj.stored_at + obj.initial_age).count());
}

void add_cache_headers(Response& r, const Object& obj, TimePoint now, CacheResult result, const std::string& server) {
  const long long age = age_seconds(obj, now);
  r.add("Age", std::to_string(age));
  auto ttl = std::chrono::duration_cast<std::chrono::seconds>(obj.fresh_until - now).count();
  if (result == CacheResult::stale)
    r.append_to_list("Cache-Status", fmt::format("{}; hit; ttl={}; detail=stale-while-revalidate", server, ttl));
  else
    r.append_to_list("Cache-Status", fmt::format("{}; hit; ttl={}", server, ttl));
  r.set("X-Cache", result == CacheResult::stale ? "STALE" : "HIT");
  r.append_to_list("Via", fmt::format("1.1 {}", server));
  r.cache = result;
}

}  // namespace

// The hit fast path: this response's cache lines, straight into wire form.
void append_cache_lines(std::string& w, const CacheLines& lines, std::string_view server) {
  const Object& obj = *lines.stored;
  const TimePoint now = lines.now;
  const CacheResult result = lines.result;
  w.append("Age: ");
  append_number(w, static_cast<std::uint64_t>(age_seconds(obj, now)));
  w.append("\r\nCache-Status: ");
  if (!obj.upstream_cache_status.empty()) w.append(obj.upstream_cache_status).append(", ");
  w.append(server).append("; hit; ttl=");
  auto ttl = std::chrono::duration_cast<std::chrono::seconds>(obj.fresh_until - now).count();
  if (ttl < 0) w.push_back('-');
  append_number(w, static_cast<std::uint64_t>(ttl < 0 ? -ttl : ttl));
  if (result == CacheResult::stale) w.append("; detail=stale-while-revalidate");
  w.append(result == CacheResult::stale ? "\r\nX-Cache: STALE\r\nVia: " : "\r\nX-Cache: HIT\r\nVia: ");
  if (!obj.upstream_via.empty()) w.append(obj.upstream_via).append(", ");
  w.append("1.1 ").append(server).append("\r\n");
  if (lines.vary) w.append("Vary: Accept-Encoding\r\n");
  if (lines.accept_ranges) w.append("Accept-Ranges: bytes\r\n");
}

Response respond_from_object(const ObjectPtr& stored, const RequestContext& req, TimePoint now, CacheResult result,
                             const std::string& server) {
  ObjectPtr obj = stored;
  const bool can_gzip = obj->gzipped && obj->status == 200 && accepts_gzip(req.header("Accept-Encoding"));
  Response r;
  r.status = obj->status;
  r.has_date = obj->has_date || !obj->header("Date").empty();  // the stored Date is kept (RFC 9110 §6.6.1), Age says how old

  if (obj->status == 200) {
    bool not_modified = false;
    if (auto inm = req.header("If-None-Match"); !inm.empty()) {
      not_modified = etag_matches(inm, obj->etag);
    } else if (auto ims = req.header("If-Modified-Since"); !ims.empty() && !obj->last_modified.empty()) {
      auto since = parse_http_date(ims), lm = parse_http_date(obj->last_modified);
      not_modified = since && lm && *lm <= *since;
    }
    if (not_modified) {
      r.status = 304;
      for (const auto& [k, v] : obj->headers)
        if (::strncasecmp(k.c_str(), "Content-", 8) != 0) r.add(k, v);
      if (obj->gzipped && obj->header("Vary").empty()) r.add("Vary", "Accept-Encoding");  // a 304 carries the 200's Vary (RFC 9110 §15.4.5)
      add_cache_headers(r, *obj, now, result, server);
      r.body = std::string();
      return r;
    }
  }

  if (can_gzip) obj = obj->gzipped;
  const bool accept_ranges = obj->status == 200 && !can_gzip;
  if (!obj->wire_headers.empty()) {  // built by the cache handler: serialized once
    r.stored_wire = obj->wire_headers;
    r.cache_lines = CacheLines{stored, now, result, stored->gzipped && obj->header("Vary").empty(), accept_ranges};
    r.cache = result;
  } else {
    r.headers = obj->headers;
    if (stored->gzipped && obj->header("Vary").empty()) r.add("Vary", "Accept-Encoding");
    add_cache_headers(r, *stored, now, result, server);
    if (accept_ranges) r.add("Accept-Ranges", "bytes");
  }
  ObjectBody body{obj, 0, obj->body_size};

  if (accept_ranges) {
    auto range = req.header("Range");
    auto if_range = req.header("If-Range");
    bool range_applies = !range.empty() && (if_range.empty() || if_range == obj->etag || if_range == obj->last_modified);
    ByteRange br;
    switch (range_applies ? parse_range(range, obj->body_size, br) : RangeParse::none) {
      case RangeParse::none: break;
      case RangeParse::ok:
        r.status = 206;
        r.add("Content-Range", fmt::format("bytes {}-{}/{}", br.first, br.last, obj->body_size));
        body.offset = br.first;
        body.length = br.last - br.first + 1;
        break;
      case RangeParse::unsatisfiable: {
        Response e = Response::error(416);
        e.add("Content-Range", fmt::format("bytes */{}", obj->body_size));
        e.cache = result;
        return e;
      }
    }
  }
  r.body = std::move(body);
  return r;
}

}  // namespace hlscache
