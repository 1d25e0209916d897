// One HTTP/2 request's life on its stream, once the codec (h2_codec.hpp) has built it:
// the checks a request must pass (431, 400, 413, 414), the Handler's answer
// (answer_now for a fresh hit; else handle(), its 1xx going out as HEADERS frames),
// the Response handed to the codec to frame, and — when the stream closes — the
// metrics, the access-log line, and the upstream fetch it led if the client left early.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>

#include "http/h2_codec.hpp"
#include "http/orphaned_fetches.hpp"
#include "http/session_env.hpp"

namespace hlscache {

// What every exchange of one connection shares.
struct H2ExchangeScope {
  const SessionEnv& env;
  const Config& cfg;
  H2ServerCodec& codec;
  OrphanedFetches& orphans;  // http2.max_orphaned_fetches
};

// The answer a request gets without reaching the handler, if any.
std::optional<Response> refuse_h2_request(const H2Stream& st, const Config& cfg);

// Answers the stream (a task of its own on the connection's executor). `keep` holds
// the connection, which outlives every stream task.
boost::asio::awaitable<void> run_h2_exchange(std::shared_ptr<void> keep, H2ExchangeScope scope,
                                             std::shared_ptr<H2Stream> st);

// The stream closed: a fetch its handler led (if it led one, and it still runs) now
// serves nobody on this connection. Called at the close and again when the handler
// returns (it may set led_fetch after the reset).
void note_h2_orphan(OrphanedFetches& orphans, H2Stream& st);

// The stream's response is over (sent or cut): count it and log it.
void finish_h2_exchange(const SessionEnv& env, const H2Stream& st);

}  // namespace hlscache
