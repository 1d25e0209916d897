// HTTP/2 session (RFC 9113) on nghttp2's server session API, driven from Asio
// coroutines on the connection's executor: a reader feeds received bytes to the
// codec (h2_codec.hpp, on core/h2_driver.hpp), a writer drains nghttp2's output into
// gather writes (BodyWriter), and each request's exchange (h2_exchange.hpp) runs the
// same Handler as HTTP/1.1 in a coroutine of its own, so a slow stream never holds
// up the others. Response bodies (inline, a cached Object's chunks, a growing fetch)
// go out through data providers with NGHTTP2_DATA_FLAG_NO_COPY: DATA frames are
// written straight from the chunks. Design notes: docs/http2.md.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string_view>

#include "http/session_env.hpp"
#include "http/streams.hpp"

namespace hlscache {

// The 24-byte client connection preface (RFC 9113 §3.4).
inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// `prefix`: bytes already read (the preface, found by the listener on an h2c port).
boost::asio::awaitable<void> run_h2_session(TcpStream stream, std::string_view prefix, const SessionEnv& env,
                                            ConnectionSet& connections);
boost::asio::awaitable<void> run_h2_session(TlsStream stream, const SessionEnv& env, ConnectionSet& connections);

}  // namespace hlscache
