// HTTP/1.1 session (C++20 coroutine): one request at a time (pipelined requests wait
// in the bounded read buffer, answered in order) under the header-read, idle and send
// deadlines. Three parts: the connection and its loop (h1_session.cpp), the codec
// that reads requests from bytes and frames bodies (h1_codec.hpp), and the exchange
// that answers one request — the Handler, keep-alive, the response written through
// BodyWriter (cached chunks by scatter-gather or sendfile, growing bodies as they are
// published) — (h1_exchange.hpp).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string_view>

#include "http/session_env.hpp"
#include "http/streams.hpp"

namespace hlscache {

// `prefix`: bytes already read from the connection (while looking for an HTTP/2 preface).
boost::asio::awaitable<void> run_h1_session(TcpStream stream, std::string_view prefix, const SessionEnv& env,
                                            ConnectionSet& connections);
boost::asio::awaitable<void> run_h1_session(TlsStream stream, const SessionEnv& env, ConnectionSet& connections);

}  // namespace hlscache
