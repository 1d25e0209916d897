#include "http/h1_session.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <type_traits>

#include "http/body_writer.hpp"
#include "http/h1_codec.hpp"
#include "http/h1_exchange.hpp"
#include "http/io_deadline.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

// The connection: the socket, its deadlines and drain handle, and the loop — the
// codec reads a request, its exchange answers it, until one of them ends the
// connection. Pipelined requests wait in the codec's buffer and are answered in order.
template <class Stream>
class H1Connection {
 public:
  H1Connection(Stream stream, std::string_view prefix, const SessionEnv& env, ConnectionSet& connections)
      : stream_(std::move(stream)),
        env_(env),
        config_(env.current_config()),
        cfg_(*config_),
        connections_(connections),
        deadline_(stream_.get_executor(),
                  std::min({cfg_.timeouts.header_read, cfg_.timeouts.idle, cfg_.timeouts.send,
                            cfg_.timeouts.ingest_idle}),
                  [this] {
                    beast::error_code ignored;
                    lowest_socket(stream_).cancel(ignored);  // the pending read or write ends: operation_aborted
                  }),
        codec_(stream_, deadline_, cfg_, prefix),
        writer_(stream_, *env.metrics, &deadline_, cfg_.timeouts.send, cfg_.cache.sendfile),
        exchange_(stream_, writer_, env, cfg_) {
    tcp_layer(stream_).expires_never();  // deadlines are deadline_'s (the listener's handshake one included)
    beast::error_code ec;
    remote_ = lowest_socket(stream_).remote_endpoint(ec).address();
    lowest_socket(stream_).set_option(tcp::no_delay(true), ec);
    // Synchronous writes on clear TCP never block (BodyWriter); Asio's own async
    // operations keep working as before in this mode.
    if constexpr (std::is_same_v<Stream, TcpStream>) lowest_socket(stream_).non_blocking(true, ec);
    handle_.close = [this] {
      beast::error_code ignored;
      lowest_socket(stream_).shutdown(tcp::socket::shutdown_both, ignored);
      lowest_socket(stream_).close(ignored);
    };
    handle_.accepted_draining = env_.drain->draining.load(std::memory_order_relaxed);
    connections_.add(&handle_);
  }
  ~H1Connection() { connections_.remove(&handle_); }

  asio::awaitable<void> run();

 private:
  void end_sending() {
    beast::error_code ignored;
    lowest_socket(stream_).shutdown(tcp::socket::shutdown_send, ignored);
  }

  Stream stream_;
  const SessionEnv& env_;
  const ConfigPtr config_;  // this connection's snapshot: a reload applies to the connections after it
  const Config& cfg_;
  ConnectionSet& connections_;
  ConnectionHandle handle_;
  IoDeadline deadline_;
  asio::ip::address remote_;
  H1Codec<Stream> codec_;
  BodyWriter<Stream> writer_;
  H1Exchange<Stream> exchange_;
  // The previous request's strings, capacity kept, so a hit allocates as little as possible.
  std::vector<Header> header_store_;
  std::string target_store_;
};

template <class Stream>
asio::awaitable<void> H1Connection<Stream>::run() {
  bool first = true;
  for (;;) {
    // Awaits are statements of their own throughout: GCC 12 miscompiles some awaits inside conditions.
    const bool have_request = co_await codec_.wait_for_request(first);
    if (!have_request) co_return;
    first = false;
    deadline_.set(cfg_.timeouts.header_read);

    RequestContext ctx;
    ctx.headers = std::move(header_store_);
    ctx.target = std::move(target_store_);
    H1Head head;
    std::unique_ptr<H1RequestBody<Stream>> streaming;
    if (!codec_.take_simple_request(ctx, head)) {
      ctx.headers.clear();
      ctx.target.clear();
      H1Refusal refusal;
      const auto read = co_await codec_.read_request(ctx, head, streaming, refusal);
      if (read == H1Codec<Stream>::Read::closed) co_return;
      if (read == H1Codec<Stream>::Read::refused) {
        co_await exchange_.refuse(refusal, remote_);
        end_sending();
        co_return;
      }
    }
    ctx.remote = remote_;
    ctx.received_wall = std::chrono::system_clock::now();
    ctx.received = SteadyClock::now();

    deadline_.clear();  // the handler may wait on an upstream; the response write sets its own
    handle_.busy = true;
    const bool go_on = co_await exchange_.serve(ctx, head, streaming.get());
    header_store_ = std::move(ctx.headers);
    target_store_ = std::move(ctx.target);
    handle_.busy = false;
    if (!go_on) {
      end_sending();
      co_return;
    }
  }
}

}  // namespace

asio::awaitable<void> run_h1_session(TcpStream stream, std::string_view prefix, const SessionEnv& env,
                                     ConnectionSet& connections) {
  ProtocolScope counted(*env.metrics, Metrics::Protocol::http1);
  H1Connection<TcpStream> conn(std::move(stream), prefix, env, connections);
  co_await conn.run();
}

asio::awaitable<void> run_h1_session(TlsStream stream, const SessionEnv& env, ConnectionSet& connections) {
  ProtocolScope counted(*env.metrics, Metrics::Protocol::http1);
  H1Connection<TlsStream> conn(std::move(stream), {}, env, connections);
  co_await conn.run();
}

}  // namespace hlscache
