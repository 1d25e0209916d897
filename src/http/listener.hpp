// Listener: one SO_REUSEPORT acceptor per thread and listening address, so the
// kernel spreads connections over threads and a connection stays on the thread
// that accepted it. Over limits.max_connections a connection is answered 503 and
// closed at once. While admission control sheds, a new connection is served by
// SessionEnv::shedding (probes answered, everything else 503). Binding port 0 picks
// one ephemeral port shared by all threads.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <vector>

#include "core/result.hpp"
#include "http/session_env.hpp"

namespace hlscache {

class TlsStore;

// What a listening address serves: TLS or clear, and whether HTTP/2 is offered
// (ALPN h2 on TLS; prior-knowledge h2c beside HTTP/1.1 on clear, told apart by
// the 24-byte connection preface).
struct ListenerSpec {
  const ListenerConfig* config = nullptr;
  TlsStore* tls = nullptr;  // set on TLS listeners
};

// SO_REUSEPORT would let us join another process's listeners on the same port
// (same user) and silently split its traffic: before binding a fixed port, check
// that a plain bind (without SO_REUSEPORT) to it succeeds.
Status check_port_free(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& ep);

Result<boost::asio::ip::tcp::acceptor> open_acceptor(boost::asio::io_context& io,
                                                     const boost::asio::ip::tcp::endpoint& ep);

boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, const ListenerSpec& spec,
                                         const SessionEnv& env, ConnectionSet& connections);

}  // namespace hlscache
