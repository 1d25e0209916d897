#include "http/shed_handler.hpp"

#include <string>

#include "http/router.hpp"

namespace hlscache {

boost::asio::awaitable<Response> ShedHandler::handle(RequestContext& req) {
  if (Router::is_probe(req.path())) co_return co_await next_.handle(req);
  metrics_.requests_shed.fetch_add(1, std::memory_order_relaxed);
  auto r = Response::text(503, "busy: try again later or another node\n");
  r.add("Retry-After", std::to_string(load_.retry_after_seconds()));
  r.add("Cache-Control", "no-store");
  r.close = true;
  co_return r;
}

}  // namespace hlscache
