#include "core/spawn.hpp"
#include "http/listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "http/h1_session.hpp"
#include "http/h2_session.hpp"
#include "http/tls.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

Status check_port_free(asio::io_context& io, const tcp::endpoint& ep) {
  tcp::acceptor probe(io);
  boost::system::error_code ec;
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);  // TIME_WAIT is no conflict
  if (!ec) probe.bind(ep, ec);
  if (ec == asio::error::address_in_use)
    return Error::make(ErrorSource::config, Errc::invalid_argument,
                       fmt::format("listen address {}:{} is already in use by another process",
                                   ep.address().to_string(), ep.port()));
  return Ok{};  // other errors are reported by open_acceptor
}

Result<tcp::acceptor> open_acceptor(asio::io_context& io, const tcp::endpoint& ep) {
  tcp::acceptor a(io);
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    return Error::make(ErrorSource::internal, Errc::io, fmt::format("{} {}: {}", what, ep.address().to_string() + ":" + std::to_string(ep.port()), ec.message()));
  };
  a.open(ep.protocol(), ec);
  if (ec) return fail("open");
  a.set_option(asio::socket_base::reuse_address(true), ec);
  int one = 1;
  if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    ec.assign(errno, boost::system::system_category());
    return fail("SO_REUSEPORT on");
  }
  a.bind(ep, ec);
  if (ec) return fail("bind");
  a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  return a;
}

namespace {

asio::awaitable<void> refuse(tcp::socket socket, int retry_after_s) {
  const std::string busy = fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
      retry_after_s);
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(busy), ec);  // best effort, never waits
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
  co_return;
}

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> serve_tls(tcp::socket socket, TlsStore& tls, bool http2, const SessionEnv& env,
                                ConnectionSet& connections) {
  auto contexts = tls.current();  // this connection keeps the certificates it started with
  TlsStream stream(std::move(socket), contexts->context());
  tcp_layer(stream).expires_after(env.config->timeouts.header_read);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
  if (ec) {
    // No common protocol version, cipher or ALPN protocol (the alert is already sent), a bad hello, a timeout.
    env.metrics->tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("TLS handshake failed: {}", ec.message());
    beast::error_code ignored;
    lowest_socket(stream).close(ignored);
    co_return;
  }
  env.metrics->connections_tls.fetch_add(1, std::memory_order_relaxed);
  if (http2 && alpn_selected_h2(stream.native_handle()))
    co_await run_h2_session(std::move(stream), env, connections);
  else
    co_await run_h1_session(std::move(stream), env, connections);
}

// h2c with prior knowledge: read until the bytes either are the whole preface or
// stop matching it (an HTTP/1.1 request line differs at its first byte). Bytes that
// begin "PRI " and then go wrong are a broken HTTP/2 preface, not HTTP/1.1 (the PRI
// method exists only for the preface, RFC 9113 §3.4 and §11): the h2 session answers
// them with SETTINGS and GOAWAY PROTOCOL_ERROR before closing.
asio::awaitable<void> serve_clear_h2(tcp::socket socket, const SessionEnv& env, ConnectionSet& connections) {
  constexpr std::string_view kPriMethod = "PRI ";
  TcpStream stream(std::move(socket));
  std::string prefix;
  char buf[32];
  stream.expires_after(env.config->timeouts.header_read);
  while (prefix.size() < kH2Preface.size() && kH2Preface.substr(0, prefix.size()) == prefix) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf, kH2Preface.size() - prefix.size()), kTuple);
    if (ec) co_return;  // closed or silent before saying anything
    prefix.append(buf, n);
  }
  if (prefix == kH2Preface || prefix.starts_with(kPriMethod))
    co_await run_h2_session(std::move(stream), prefix, env, connections);
  else
    co_await run_h1_session(std::move(stream), prefix, env, connections);
}

asio::awaitable<void> serve(tcp::socket socket, const ListenerSpec& spec, const SessionEnv& env,
                            ConnectionSet& connections) {
  // By protocol it is counted by the session that speaks it (ProtocolScope).
  struct Active {
    Metrics& m;
    explicit Active(Metrics& metrics) : m(metrics) { m.connections_active.fetch_add(1); }
    ~Active() { m.connections_active.fetch_sub(1); }
  } active(*env.metrics);
  const bool http2 = spec.config != nullptr && spec.config->http2;
  if (spec.tls != nullptr)
    co_await serve_tls(std::move(socket), *spec.tls, http2, env, connections);
  else if (http2)
    co_await serve_clear_h2(std::move(socket), env, connections);
  else
    co_await run_h1_session(TcpStream(std::move(socket)), {}, env, connections);
}

}  // namespace

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const ListenerSpec& spec, const SessionEnv& env,
                                  ConnectionSet& connections) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // EMFILE/ENFILE and friends: back off briefly instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(ex, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    env.metrics->connections_accepted.fetch_add(1, std::memory_order_relaxed);
    if (env.metrics->connections_active.load(std::memory_order_relaxed) >=
        static_cast<std::int64_t>(env.current_config()->limits.max_connections)) {
      env.metrics->connections_refused.fetch_add(1, std::memory_order_relaxed);
      asio::co_spawn(ex, refuse(std::move(socket), 1), log_escape("refusing a connection"));
      continue;
    }
    // Admission control: while the predicted load is above load.admit_max_predicted_rps, new
    // viewers are steered away (open connections keep being served). The connection is
    // accepted and its request read, so probes are still answered (http/shed_handler.hpp).
    const SessionEnv* session_env = &env;
    if (env.load && env.load->refusing()) {
      env.metrics->connections_shed.fetch_add(1, std::memory_order_relaxed);
      if (!env.shedding) {
        asio::co_spawn(ex, refuse(std::move(socket), env.load->retry_after_seconds()), log_escape("refusing a connection"));
        continue;
      }
      session_env = env.shedding;
    }
    asio::co_spawn(ex, serve(std::move(socket), spec, *session_env, connections), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& err) {
        spdlog::error("session ended by an exception: {}", err.what());
      }
    });
  }
}

}  // namespace hlscache
