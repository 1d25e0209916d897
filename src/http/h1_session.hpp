// HTTP/1.1 session (Boost.Beast parser, C++20 coroutine): reads one request at a
// time (pipelined requests wait in the bounded read buffer, answered in order),
// enforces the header/target/body limits and the header-read, idle and send
// deadlines, builds a RequestContext, calls the Handler, and writes the Response —
// cached chunks by scatter-gather, growing bodies as they are published.
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
