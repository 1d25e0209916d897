// Router: the first Handler every request meets. Operational endpoints
// (/healthz, /readyz, /metrics) are answered here; ingest, the status page and
// media requests go to the handlers the role wired in. Media routes accept GET and HEAD only.
// Probes: /healthz is 200 while the process serves; /readyz is 200 only while the node
// can serve — not draining, and the role's readiness check (set_readiness: for edge and
// origin, every routed upstream group has a host that is not ejected) says nothing
// against it — else 503 with the reason. While draining every request but the probes
// (/healthz, /readyz, /metrics) is answered 503 + Retry-After + Connection: close.
#pragma once

#include <functional>
#include <string>

#include "http/handler.hpp"
#include "http/session_env.hpp"

namespace hlscache {

class Router final : public Handler {
 public:
  Router(Metrics& metrics, DrainState& drain) : metrics_(metrics), drain_(drain) {}
  void set_media(Handler* h) { media_ = h; }
  void set_ingest(Handler* h) { ingest_ = h; }   // /ingest/...
  void set_admin(Handler* h) { admin_ = h; }     // /admin/...
  void set_status(Handler* h) { status_ = h; }   // /, /status.json, /assets/... (StatusHandler::owns)
  // Why the node cannot serve now ("" when it can); called for each /readyz.
  void set_readiness(std::function<std::string()> check) { readiness_ = std::move(check); }
  // The paths answered whatever the node's state (draining, shedding): the probes and /metrics.
  static bool is_probe(std::string_view path) { return path == "/healthz" || path == "/readyz" || path == "/metrics"; }
  boost::asio::awaitable<Response> handle(RequestContext& request) override;
  std::optional<Response> answer_now(RequestContext& request) override;

 private:
  Metrics& metrics_;
  DrainState& drain_;
  Handler* media_ = nullptr;
  Handler* ingest_ = nullptr;
  Handler* admin_ = nullptr;
  Handler* status_ = nullptr;
  std::function<std::string()> readiness_;
};

}  // namespace hlscache
