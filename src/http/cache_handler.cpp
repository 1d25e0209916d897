#include "http/cache_handler.hpp"

#include <fmt/format.h>

#include "core/http_fields.hpp"

// GCC 12 reports Asio's coroutine frame allocation as mismatched (-Wmismatched-new-delete)
// once it inlines the frame's operator new (aligned_alloc) and delete (free) — a matched
// pair — into handle(). A false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace hlscache {

namespace asio = boost::asio;

CacheHandler::CacheHandler(ConfigPtr config, Cache& cache, Coalescer& coalescer, Source& source, const Clock& clock)
    : config_(std::move(config)), miss_(cache, coalescer, source, clock), clock_(clock) {}

std::optional<Response> CacheHandler::answer_now(RequestContext& req) {
  const ConfigPtr config = config_.get();
  const TimePoint now = clock_.now();
  ObjectPtr fresh = miss_.fresh(req, *config, now);
  if (!fresh) return std::nullopt;
  return respond_from_object(fresh, req, now, CacheResult::hit, config->server_name);
}

asio::awaitable<Response> CacheHandler::handle(RequestContext& req) {
  const ConfigPtr config = config_.get();  // one snapshot per request (reloads swap it)
  CacheAnswer answer = co_await miss_.resolve(req, config);
  co_return respond_to(std::move(answer), req, clock_.now(), config->server_name);
}

Response respond_to(CacheAnswer a, const RequestContext& req, TimePoint now, const std::string& server_name) {
  if (a.kind == CacheAnswer::Kind::stored) return respond_from_object(a.object, req, now, a.result, server_name);
  if (a.kind == CacheAnswer::Kind::refused) {
    Response r = Response::error(a.status, a.reason);
    if (a.retry_after) r.add("Retry-After", "1");
    r.cache = a.result;
    return r;
  }
  const std::string status_line =
      fmt::format("{}; fwd={}{}{}", server_name, a.fwd, a.collapsed ? "; collapsed" : "",
                  a.detail ? fmt::format("; detail={}", a.detail) : std::string());
  if (a.kind == CacheAnswer::Kind::failed) {
    Response r = Response::error(a.status, a.reason);
    r.cache = a.result;
    r.waited_ms = a.waited_ms;
    r.add("Cache-Status", status_line);
    return r;
  }
  Response r;
  r.status = a.head.status;
  const auto content_length = a.head.content_length;
  r.headers = std::move(a.head.headers);
  // The upstream's Age and Date stay: the response is as old as the upstream said (RFC 9111 §5.1).
  r.has_date = has_field(r.headers, "Date");
  r.append_to_list("Cache-Status", status_line);
  r.set("X-Cache", a.result == CacheResult::coalesced ? "COALESCED" : "MISS");
  r.append_to_list("Via", fmt::format("1.1 {}", server_name));
  r.cache = a.result;
  r.waited_ms = a.waited_ms;
  r.body = StreamBody{std::move(a.fetch), content_length};
  return r;
}

}  // namespace hlscache
