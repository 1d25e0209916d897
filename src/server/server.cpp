#include "core/spawn.hpp"
#include "server/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <csignal>

#include "core/page_store.hpp"
#include "http/admin_handler.hpp"
#include "http/listener.hpp"
#include "http/shed_handler.hpp"
#include "server/roles.hpp"
#include "server/sd_notify.hpp"

namespace hlscache {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// cache.sendfile: large bodies live in the process's page store (installed once, by
// the first server that asks). Its address space is sized from the cache: classes
// round a chunk up to a power of two, and a class keeps its freed ranges.
void install_page_store(const Config& cfg) {
  // sendfile serves clear-TCP HTTP/1.1 only: with TLS on every listener, the store would
  // cost each miss its page allocation and save no copy.
  const bool clear_listener =
      std::any_of(cfg.listen.begin(), cfg.listen.end(), [](const ListenerConfig& l) { return !l.tls; });
  if (!cfg.cache.sendfile || !clear_listener) {
    PageStore::switch_off();  // new chunks on the heap; those in the store keep their pages
    return;
  }
  if (PageStore::current()) return;
  // sendfile(2) has no MSG_NOSIGNAL: a write to a client that has gone would raise SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  const std::uint64_t reserve = std::min<std::uint64_t>(4 * cfg.cache.capacity + (1ull << 30), 8ull << 40);
  std::string why;
  if (const PageStore* store = PageStore::install(reserve, &why))  // an existing store is switched back on
    spdlog::info("cache.sendfile: bodies of {} KiB and more in page-backed memory ({} GiB of address space)",
                 PageStore::kMinChunk / 1024, store->stats().reserve >> 30);
  else
    spdlog::warn("cache.sendfile: no page store ({}); bodies stay on the heap and are copied into sockets", why);
}

void collect_page_store(std::string& out) {
  const PageStore* store = PageStore::installed();
  if (!store) return;
  const PageStore::Stats s = store->stats();
  auto one = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
    prom_family(out, name, type, help);
    prom_sample(out, name, "", static_cast<double>(v));
  };
  one("hlscache_page_store_bytes", "gauge", "Body bytes in the page store (cache.sendfile), page-rounded.", s.bytes);
  one("hlscache_page_store_chunks", "gauge", "Body chunks in the page store.", s.chunks);
  one("hlscache_page_store_reserve_used_bytes", "gauge", "Page-store address space handed out so far (of its reserve).",
      s.high_water);
  one("hlscache_page_store_reserve_bytes", "gauge", "Page-store address space reserved.", s.reserve);
  one("hlscache_page_store_fallbacks_total", "counter",
      "Chunks the page store could not take (reserve or memory exhausted): on the heap instead.", s.fallbacks);
  one("hlscache_page_store_punch_failures_total", "counter",
      "Freed chunks whose pages could not be punched out (their range is kept out of use).", s.punch_failures);
}

}  // namespace

Server::Server(ConfigPtr config)
    : config_(std::move(config)),
      live_(config_),
      router_(metrics_, drain_),
      load_(config_->load.interval, config_->load.admit_max_predicted_rps, config_->load.smoothing) {
  env_.config = config_;
  env_.live = &live_;
  env_.handler = &router_;
  env_.metrics = &metrics_;
  env_.drain = &drain_;
  env_.access_log = &access_log_;
  env_.load = &load_;
  metrics_.add_collector([this](std::string& out) { load_.collect(out); });
  metrics_.add_collector(collect_page_store);
}

Server::~Server() {
  for (auto& w : workers_) w->io.stop();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  if (role_) role_->stop();
}

Status Server::start() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {} received", sig);
    begin_drain();
  });
  wait_signals();
  if (auto st = access_log_.retarget(config_->logging.access_log, config_->logging.access_log_path); !st)
    return st.error();
  for (std::uint32_t i = 0; i < config_->threads; ++i) workers_.push_back(std::make_unique<Worker>());

  specs_.reserve(config_->listen.size());
  for (const auto& l : config_->listen) {
    ListenerSpec spec{&l, nullptr};
    if (l.tls) {
      auto store = std::make_unique<TlsStore>(*l.tls, l.http2, l.address.to_string());
      if (auto st = store->load(); !st) return st.error();
      spec.tls = store.get();
      tls_.push_back(std::move(store));
    }
    specs_.push_back(spec);
  }

  // Resolve each listener once; port 0 becomes the ephemeral port the first bind got.
  for (const auto& l : config_->listen) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(l.address.host, ec);
    if (ec)
      return Error::make(ErrorSource::config, Errc::invalid_argument,
                         "listen address " + l.address.to_string() + " is not an IP address");
    tcp::endpoint ep(addr, l.address.port);
    if (ep.port() != 0)
      if (auto st = check_port_free(workers_.front()->io, ep); !st) return st.error();
    for (auto& w : workers_) {
      auto a = open_acceptor(w->io, ep);
      if (!a) return a.error();
      if (ep.port() == 0) ep = a->local_endpoint();
      w->acceptors.push_back(std::move(*a));
    }
    endpoints_.push_back(ep);
  }

  install_page_store(*config_);
  role_ = make_role(config_);
  std::vector<asio::io_context*> ios;
  for (auto& w : workers_) ios.push_back(&w->io);
  if (auto st = role_->wire(router_, metrics_, ios); !st) return st.error();
  // The admin API is always routed; it answers 404 while no admin.token is set (a reload may set one).
  admin_ = std::make_unique<AdminHandler>(live_, role_->cache(), load_,
                                          [role = role_.get()](TimePoint now) { return role->streams_json(now); });
  router_.set_admin(admin_.get());
  router_.set_readiness([role = role_.get()] { return role->not_ready(SteadyClock::now()); });
  // Connections accepted while admission control sheds: probes answered, the rest 503.
  shed_ = std::make_unique<ShedHandler>(router_, metrics_, load_);
  shedding_env_ = env_;
  shedding_env_.handler = shed_.get();
  env_.shedding = &shedding_env_;
  asio::co_spawn(control_, roll_load(), log_escape("load estimator"));

  for (auto& w : workers_) {
    for (std::size_t i = 0; i < w->acceptors.size(); ++i)
      asio::co_spawn(w->io, accept_loop(w->acceptors[i], specs_[i], env_, w->connections), log_escape("accept loop"));
    w->thread = std::thread([io = &w->io] {
      auto guard = asio::make_work_guard(*io);
      io->run();
    });
  }
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    const auto& ep = endpoints_[i];
    const auto& l = config_->listen[i];
    spdlog::info("listening on {}://{}:{}/{}", l.tls ? "https" : "http",
                 ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string(), ep.port(),
                 l.http2 ? (l.tls ? " (HTTP/2 by ALPN, HTTP/1.1)" : " (HTTP/1.1, h2c prior knowledge)") : "");
  }
  return Ok{};
}

void Server::wait_signals() {
  reload_signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      // The config, then the certificate files: new handshakes use them, open
      // connections keep theirs. Certificates are re-read even when the config reload
      // is refused (a rotation does not wait on an unrelated edit).
      sd_notify(fmt::format("RELOADING=1\nMONOTONIC_USEC={}",
                            std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now().time_since_epoch()).count()));
      const bool applied = reload().ok();
      (void)reload_tls();
      sd_notify(applied ? "READY=1\nSTATUS=serving (config reloaded)" : "READY=1\nSTATUS=serving (reload refused: see the log)");
    } else if (sig == SIGUSR1) {
      if (auto st = access_log_.reopen(); !st)
        spdlog::error("SIGUSR1: {}", st.error().message);
      else
        spdlog::info("SIGUSR1: access log reopened");
    }
    wait_signals();
  });
}

asio::awaitable<void> Server::roll_load() {
  asio::steady_timer t(co_await asio::this_coro::executor);
  load_.roll(SteadyClock::now(), metrics_.requests_served(), metrics_.bytes_out.load(std::memory_order_relaxed));
  for (;;) {
    t.expires_after(load_.interval());
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    load_.roll(SteadyClock::now(), metrics_.requests_served(), metrics_.bytes_out.load(std::memory_order_relaxed));
  }
}

Status Server::reload() {
  const std::string path = config_->source_path;
  auto next = load_config_file(path);
  if (!next) {
    spdlog::error("reload refused: {} has errors; the running config stays:\n{}", path, next.error().message);
    return next.error();
  }
  const ConfigPtr cfg = *next;
  if (auto why = restart_required(*config_, *cfg); !why.empty()) {
    std::string list;
    for (const auto& w : why) list += (list.empty() ? "" : ", ") + w;
    spdlog::error("reload refused: {} (needs a restart); the running config stays", list);
    return Error::make(ErrorSource::config, Errc::invalid_argument, list + " (needs a restart)");
  }
  // Apply. Order: what can fail first (the access log target), then the swaps.
  if (cfg->logging.access_log != config_->logging.access_log ||
      cfg->logging.access_log_path != config_->logging.access_log_path) {
    if (auto st = access_log_.retarget(cfg->logging.access_log, cfg->logging.access_log_path); !st) {
      spdlog::error("reload refused: {}; the running config stays", st.error().message);
      return st.error();
    }
  }
  spdlog::set_level(spdlog::level::from_str(cfg->logging.level));
  load_.reconfigure(cfg->load.interval, cfg->load.admit_max_predicted_rps, cfg->load.smoothing);
  install_page_store(*cfg);
  role_->reconfigure(cfg);  // cache handler rules; the source's reconfigure() (upstream groups, routes)
  live_.set(cfg);  // new connections, admin requests and accept-time limits see it from now on
  config_ = cfg;
  // At warn so the line shows whatever logging.level now says.
  spdlog::warn("config reloaded from {}: {}", path, cfg->summary());
  return Ok{};
}

void Server::begin_drain() {
  if (drain_.draining.load()) return;  // a second SIGTERM changes nothing (begin_drain runs on the control thread only)
  auto deadline = SteadyClock::now() + config_->timeouts.drain;
  drain_.deadline_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count());
  drain_.draining.store(true);
  sd_notify("STOPPING=1\nSTATUS=draining");
  // The listeners stay open until the drain ends: probes get /healthz 200 and /readyz 503
  // (not a refused connection), every other new request 503 + Retry-After + Connection: close.
  spdlog::info("draining: new requests get 503 (probes are answered), in-flight responses have {} ms",
               config_->timeouts.drain.count());
  for (auto& w : workers_) asio::post(w->io, [w = w.get()] { w->connections.close_idle(); });
  asio::co_spawn(
      control_,
      [this, deadline]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        while (SteadyClock::now() < deadline && metrics_.connections_active.load() > 0) {
          // Connections that finished their response close themselves (no keep-alive while draining).
          for (auto& w : workers_) asio::post(w->io, [w = w.get()] { w->connections.close_idle(); });
          t.expires_after(std::chrono::milliseconds(25));
          co_await t.async_wait(asio::use_awaitable);
        }
        if (metrics_.connections_active.load() > 0)
          spdlog::warn("drain deadline reached with {} connection(s) open; closing them",
                       metrics_.connections_active.load());
        control_.stop();
      },
      log_escape("drain"));
}

Status Server::reload_tls() {
  Status result = Ok{};
  for (auto& store : tls_) {
    if (auto st = store->load(); !st) {
      spdlog::error("TLS listener {}: reload failed, keeping the current certificates: {}", store->name(),
                    st.error().message);
      result = st.error();
    } else {
      spdlog::info("TLS listener {}: certificates reloaded", store->name());
    }
  }
  return result;
}

int Server::wait() {
  auto guard = asio::make_work_guard(control_);
  control_.run();
  for (auto& w : workers_) {
    asio::post(w->io, [w = w.get()] {
      boost::system::error_code ec;
      for (auto& a : w->acceptors) a.close(ec);
      w->connections.close_all();
    });
  }
  if (role_) role_->stop();
  for (auto& w : workers_) w->io.stop();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace hlscache
