// Server: one io_context per thread, each running its own acceptors (SO_REUSEPORT)
// and the sessions they accept; role wiring (which media handler answers misses);
// SIGTERM/SIGINT drain: close idle connections, answer new requests 503 (probes keep
// being answered, /readyz 503, so the listeners stay open), let in-flight responses
// finish until timeouts.drain, then close the listeners and stop. SIGHUP reloads the config
// (reload()) and the TLS certificates (reload_tls()), SIGUSR1 reopens the access log. A control thread (wait()) runs the
// signals, the drain timer and the load estimator's interval timer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "http/listener.hpp"
#include "http/router.hpp"
#include "http/session_env.hpp"
#include "http/tls.hpp"

namespace hlscache {

class RoleWiring;  // the role's handlers and background tasks (server/roles.hpp)

class Server {
 public:
  explicit Server(ConfigPtr config);
  ~Server();

  Status start();  // binds every listener on every thread and starts the threads
  int wait();      // blocks until stopped (signal or stop()); returns the exit code
  void begin_drain();
  // Re-reads the config file; applies it unless restart_required() objects (then the
  // running config stays and a log line says why). Returns what it did, for the log.
  Status reload();
  // Re-reads every TLS listener's certificate and key files (SIGHUP): new handshakes
  // use them, open connections keep theirs; a listener whose files fail to load keeps
  // its current certificates (the error is logged and returned).
  Status reload_tls();
  std::vector<boost::asio::ip::tcp::endpoint> endpoints() const { return endpoints_; }

 private:
  struct Worker {
    // Declared before io: sessions destroyed with the io_context unregister from it.
    ConnectionSet connections;
    // One thread per io_context, and every socket/timer used only from it: no reactor locking.
    boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    std::vector<boost::asio::ip::tcp::acceptor> acceptors;
    std::thread thread;
  };

  void wait_signals();
  boost::asio::awaitable<void> roll_load();

  ConfigPtr config_;      // the running config; touched only by the control thread (and before start)
  ConfigHolder live_;     // what sessions and handlers read
  Metrics metrics_;
  DrainState drain_;
  Router router_;
  AccessLog access_log_;
  LoadEstimator load_;
  std::unique_ptr<RoleWiring> role_;
  std::unique_ptr<Handler> admin_;
  SessionEnv env_;
  SessionEnv shedding_env_;                   // env_ with the ShedHandler in front of the router
  std::unique_ptr<Handler> shed_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<TlsStore>> tls_;  // one per TLS listener
  std::vector<ListenerSpec> specs_;             // one per config listener, in order
  boost::asio::io_context control_{1};  // signals and the drain timer
  // SIGTERM/SIGINT are caught from start() on: once the daemon says it is listening
  // (--ports-file), a signal drains it instead of killing it.
  boost::asio::signal_set signals_{control_, SIGTERM, SIGINT};
  boost::asio::signal_set reload_signals_{control_, SIGHUP, SIGUSR1};
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
};

}  // namespace hlscache
