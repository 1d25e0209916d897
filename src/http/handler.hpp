// Handler: turns a RequestContext into a Response. The router is one, and so is
// each of its targets (cache, metrics, health, ingest). Handlers run on the
// session's executor and never block it. A 4 KiB hit spent ~1.5k instructions in
// the router's and cache handler's coroutine frames and their resumption; answer_now
// serves such hits with plain calls.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <optional>

#include "core/request.hpp"
#include "http/response.hpp"

namespace hlscache {

class Handler {
 public:
  virtual ~Handler() = default;
  virtual boost::asio::awaitable<Response> handle(RequestContext& request) = 0;
  // The answer when it needs no waiting (a fresh cache hit), without a coroutine
  // frame per handler on the way; nullopt: call handle(). Sessions try this first.
  virtual std::optional<Response> answer_now(RequestContext& /*request*/) { return std::nullopt; }
};

}  // namespace hlscache
