#include "http/router.hpp"

#include "http/status_handler.hpp"

namespace hlscache {

namespace {
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
Response method_not_allowed(const char* allow) {
  auto r = Response::error(405);
  r.add("Allow", allow);
  return r;
}
}  // namespace

// Media GET/HEAD only: every other route is answered by handle().
std::optional<Response> Router::answer_now(RequestContext& req) {
  if (!media_ || (req.method != Method::get && req.method != Method::head)) return std::nullopt;
  if (drain_.draining.load(std::memory_order_relaxed)) return std::nullopt;  // handle() answers 503
  const std::string_view path = req.path();
  if (starts_with(path, "/ingest/") || starts_with(path, "/admin/") || path == "/healthz" || path == "/readyz" ||
      path == "/metrics" || (status_ && StatusHandler::owns(path)))
    return std::nullopt;
  return media_->answer_now(req);
}

boost::asio::awaitable<Response> Router::handle(RequestContext& req) {
  const std::string_view path = req.path();
  const bool get_or_head = req.method == Method::get || req.method == Method::head;

  if (drain_.draining.load(std::memory_order_relaxed) && !is_probe(path)) {
    // Draining: the listener stays open for the probes; new work goes elsewhere. An
    // hlscache edge takes this answer (503, Retry-After, Connection: close) from an origin
    // as "ejected for Retry-After seconds" and retries on the next host (docs/operations.md).
    metrics_.requests_drained.fetch_add(1, std::memory_order_relaxed);
    auto r = Response::text(503, "draining\n");
    r.add("Retry-After", std::to_string(drain_.retry_after_s(SteadyClock::now())));
    r.add("Cache-Control", "no-store");
    r.close = true;
    co_return r;
  }

  if (starts_with(path, "/ingest/")) {
    if (!ingest_) co_return Response::error(404, "no ingest on this node");
    co_return co_await ingest_->handle(req);
  }
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    if (!get_or_head) co_return method_not_allowed("GET, HEAD");
    Response r;
    if (path == "/healthz") {
      r = Response::text(200, "ok\n");
    } else if (path == "/readyz") {
      if (drain_.draining.load()) {
        r = Response::text(503, "draining\n");
      } else if (std::string why = readiness_ ? readiness_() : std::string{}; !why.empty()) {
        r = Response::text(503, "not ready: " + why + "\n");
      } else {
        r = Response::text(200, "ready\n");
      }
    } else {
      r = Response::text(200, metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
    }
    r.add("Cache-Control", "no-store");
    co_return r;
  }
  if (starts_with(path, "/admin/")) {
    if (!admin_) co_return Response::error(404, "the admin API is off");
    co_return co_await admin_->handle(req);
  }
  if (status_ && StatusHandler::owns(path)) co_return co_await status_->handle(req);
  if (!get_or_head) co_return method_not_allowed("GET, HEAD");
  if (!media_) co_return Response::error(404);
  co_return co_await media_->handle(req);
}

}  // namespace hlscache
