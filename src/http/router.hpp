// Router: the first Handler every request meets. Operational endpoints
// (/healthz, /readyz, /metrics) are answered here; ingest, the status page and
// media requests go to the handlers the role wired in. Media routes accept GET and HEAD only.
#pragma once

#include <functional>

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
  boost::asio::awaitable<Response> handle(RequestContext& request) override;
  std::optional<Response> answer_now(RequestContext& request) override;

 private:
  Metrics& metrics_;
  DrainState& drain_;
  Handler* media_ = nullptr;
  Handler* ingest_ = nullptr;
  Handler* admin_ = nullptr;
  Handler* status_ = nullptr;
};

}  // namespace hlscache
