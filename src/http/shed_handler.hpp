// ShedHandler: the handler of connections accepted while admission control sheds load
// (load.admit_max_predicted_rps; metrics/load_estimator.hpp). A connection has to be
// accepted and its request head read before its path is known, so shedding happens
// per request, not at accept: probes and /metrics (Router::is_probe) go on to the
// router — a busy node stays live and visible to Kubernetes' probes — and everything
// else is answered 503 with Retry-After (one load interval) and Connection: close (on
// HTTP/2: the stream's answer, the connection stays), without touching the cache or the
// upstream. These 503s are not counted as load.
#pragma once

#include "http/handler.hpp"
#include "metrics/load_estimator.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

class ShedHandler final : public Handler {
 public:
  ShedHandler(Handler& next, Metrics& metrics, const LoadEstimator& load) : next_(next), metrics_(metrics), load_(load) {}
  boost::asio::awaitable<Response> handle(RequestContext& request) override;

 private:
  Handler& next_;
  Metrics& metrics_;
  const LoadEstimator& load_;
};

}  // namespace hlscache
