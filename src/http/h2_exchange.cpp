#include "http/h2_exchange.hpp"

#include <spdlog/spdlog.h>

#include "http/interim.hpp"

namespace hlscache {

namespace asio = boost::asio;

namespace {

// A 1xx HEADERS frame (103 Early Hints) on the stream, before its final response.
class StreamInterim final : public InterimWriter {
 public:
  StreamInterim(H2ServerCodec& codec, H2Stream& st) : codec_(codec), st_(st) {}
  asio::awaitable<void> send_interim(int status, const std::vector<Header>& headers) override {
    codec_.submit_interim(st_, status, headers);
    co_return;
  }

 private:
  H2ServerCodec& codec_;
  H2Stream& st_;
};

}  // namespace

std::optional<Response> refuse_h2_request(const H2Stream& st, const Config& cfg) {
  const auto& ctx = st.ctx;
  if (st.header_too_large) return Response::error(431, "request header block too large");
  if (st.bad_field) return Response::error(400, "CR, LF or NUL in a field");
  if (st.body_received > cfg.limits.max_request_body) return Response::error(413, "request body too large");
  if (ctx.target.empty() || (ctx.target.front() != '/' && ctx.target != "*"))
    return Response::error(400, "request target must be an absolute path");
  if (ctx.target.size() > cfg.limits.max_target_bytes) return Response::error(414, "request target too long");
  return std::nullopt;
}

asio::awaitable<void> run_h2_exchange(std::shared_ptr<void> keep, H2ExchangeScope scope,
                                      std::shared_ptr<H2Stream> st) {
  (void)keep;
  auto& ctx = st->ctx;
  const SessionEnv& env = scope.env;
  if (st->closed) co_return;  // reset before its handler ran: nothing to answer, no fetch to start
  if (auto refused = refuse_h2_request(*st, scope.cfg)) {
    env.metrics->bad_requests.fetch_add(1, std::memory_order_relaxed);
    st->resp = std::move(*refused);
  } else {
    try {
      std::optional<Response> now = env.handler->answer_now(ctx);  // a fresh hit: no handler coroutines
      if (now) {
        st->resp = std::move(*now);
      } else {
        st->interim = std::make_unique<StreamInterim>(scope.codec, *st);
        ctx.interim = st->interim.get();
        st->resp = co_await env.handler->handle(ctx);
      }
    } catch (const std::exception& e) {
      spdlog::error("handler failed for {} {}: {}", ctx.method_text, ctx.target, e.what());
      st->resp = Response::error(500);
    }
    ctx.interim = nullptr;
    if (st->abandoned) note_h2_orphan(scope.orphans, *st);  // reset while the handler ran: led_fetch may be set only now
  }
  if (scope.codec.closed() || st->closed) co_return;  // the client reset the stream or the connection is gone
  scope.codec.submit(*st);
  scope.codec.driver().kick();
}

void note_h2_orphan(OrphanedFetches& orphans, H2Stream& st) {
  if (st.orphan_noted || st.ctx.led_fetch.expired()) return;
  st.orphan_noted = true;
  orphans.add(st.ctx.led_fetch);
}

void finish_h2_exchange(const SessionEnv& env, const H2Stream& st) {
  env.metrics->count_response(st.resp.status, st.resp.cache, st.sent);
  if (env.access_log && env.access_log->enabled()) log_access(env, st.ctx, st.resp, st.sent);
}

}  // namespace hlscache
