// Handler: turns a RequestContext into a Response. The router is one, and so is
// each of its targets (cache, metrics, health, ingest). Handlers run on the
// session's executor and never block it.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "http/request.hpp"
#include "http/response.hpp"

namespace hlscache {

class Handler {
 public:
  virtual ~Handler() = default;
  virtual boost::asio::awaitable<Response> handle(RequestContext& request) = 0;
};

}  // namespace hlscache
