#include "chromium_util.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/src.hpp>  // header-only Boost.JSON, compiled once here for the binaries that link this file
#include <fmt/format.h>
#include <sys/stat.h>

#include <functional>
#include <optional>
#include <stdexcept>

namespace hlscache::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;

using WebSocket = beast::websocket::stream<beast::tcp_stream>;

struct DevToolsPage::Session {
  asio::io_context io;
  WebSocket ws{io};
};

namespace {

// Reads messages, handing each to `note`, until `done` holds for one; returns that one.
asio::awaitable<json::value> read_until(WebSocket& ws, const std::function<void(const json::object&)>& note,
                                        const std::function<bool(const json::object&)>& done) {
  for (;;) {
    beast::flat_buffer buf;
    co_await ws.async_read(buf, asio::use_awaitable);
    json::value m = json::parse(beast::buffers_to_string(buf.data()));
    const auto& o = m.as_object();
    note(o);
    if (done(o)) co_return m;
  }
}

asio::awaitable<json::value> send_and_read(WebSocket& ws, std::string text, const std::function<void(const json::object&)>& note,
                                           const std::function<bool(const json::object&)>& done) {
  co_await ws.async_write(asio::buffer(text), asio::use_awaitable);
  json::value m = co_await read_until(ws, note, done);
  co_return m;
}

asio::awaitable<json::value> open_socket(WebSocket& ws, std::uint16_t port, std::string ws_path) {
  const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  co_await ws.next_layer().async_connect(ep, asio::use_awaitable);
  ws.set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::client));
  co_await ws.async_handshake(fmt::format("127.0.0.1:{}", port), ws_path, asio::use_awaitable);
  co_return json::value{};
}

// Runs `task` on the session's io_context for at most `timeout`. A task still running
// then is cancelled by closing the socket (the session is of no further use), and
// "`what`: no answer within N ms" is thrown; the task's own exception is rethrown.
json::value run_bounded(asio::io_context& io, WebSocket& ws, asio::awaitable<json::value> task, Millis timeout,
                        const std::string& what) {
  bool done = false;
  std::exception_ptr error;
  json::value result;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, json::value v) {
    done = true;
    error = e;
    result = std::move(v);
  });
  io.restart();
  io.run_for(timeout);
  if (!done) {
    beast::get_lowest_layer(ws).close();
    io.restart();
    io.run_for(1s);  // lets the cancelled task end before its frame's references go
    throw std::runtime_error(fmt::format("{}: no answer within {} ms", what, timeout.count()));
  }
  if (error) std::rethrow_exception(error);
  return result;
}

}  // namespace

bool have_chromium() {
  static const bool ok = run_command({"chromium", "--version"}, 20s).exit_code == 0;
  return ok;
}

std::string assets_dir() { return HLSCACHE_SOURCE_DIR "/assets"; }

std::string hlsjs_missing() {
  struct stat st {};
  if (::stat((assets_dir() + "/hls.min.js").c_str(), &st) == 0) return "";
  return assets_dir() + "/hls.min.js is missing: run tools/setup/fetch-assets.sh";
}

DevToolsPage::DevToolsPage() : session_(std::make_unique<Session>()) { session_->ws.read_message_max(64 << 20); }
DevToolsPage::~DevToolsPage() = default;

void DevToolsPage::note_event(const json::object& o) {
  const auto* method = o.if_contains("method");
  if (!method) return;
  const auto& params = o.at("params").as_object();
  if (*method == "Page.loadEventFired") {
    loaded_ = true;
  } else if (*method == "Runtime.consoleAPICalled") {
    const std::string type(params.at("type").as_string());
    if (type == "error" || type == "assert") console_errors_.push_back("console." + type + ": " + json::serialize(params.at("args")));
  } else if (*method == "Runtime.exceptionThrown") {
    console_errors_.push_back("exception: " + json::serialize(params.at("exceptionDetails")));
  } else if (*method == "Log.entryAdded" && params.at("entry").at("level").as_string() == "error") {
    console_errors_.push_back("log: " + json::serialize(params.at("entry")));
  }
}

std::string DevToolsPage::connect(std::uint16_t port, const std::string& ws_path) {
  try {
    run_bounded(session_->io, session_->ws, open_socket(session_->ws, port, ws_path), 5s, "DevTools connect");
    for (const char* domain : {"Runtime.enable", "Log.enable", "Page.enable"}) call(domain, {});
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

json::value DevToolsPage::call(const std::string& method, json::object params, Millis timeout) {
  const int id = ++next_id_;
  json::object msg;
  msg["id"] = id;
  msg["method"] = method;
  msg["params"] = std::move(params);
  auto note = [this](const json::object& o) { note_event(o); };
  auto ours = [id](const json::object& o) {
    const auto* mid = o.if_contains("id");
    return mid != nullptr && mid->to_number<int>() == id;
  };
  json::value reply = run_bounded(session_->io, session_->ws, send_and_read(session_->ws, json::serialize(msg), note, ours),
                                  timeout, method);
  const auto& r = reply.as_object();
  if (const auto* err = r.if_contains("error")) throw std::runtime_error(method + ": " + json::serialize(*err));
  return r.at("result");
}

void DevToolsPage::navigate(const std::string& url, Millis timeout) {
  loaded_ = false;
  json::object params;
  params["url"] = url;
  json::value nav = call("Page.navigate", std::move(params), timeout);
  if (const auto* err = nav.as_object().if_contains("errorText"))
    throw std::runtime_error("navigation to " + url + " failed: " + json::serialize(*err));
  if (loaded_) return;
  auto note = [this](const json::object& o) { note_event(o); };
  auto loaded = [this](const json::object&) { return loaded_; };
  run_bounded(session_->io, session_->ws, read_until(session_->ws, note, loaded), timeout, "the load event of " + url);
}

json::value DevToolsPage::evaluate(const std::string& expression, Millis timeout) {
  json::object params;
  params["expression"] = expression;
  params["returnByValue"] = true;
  params["awaitPromise"] = true;
  json::value r = call("Runtime.evaluate", std::move(params), timeout);
  const auto& o = r.as_object();
  if (const auto* ex = o.if_contains("exceptionDetails")) throw std::runtime_error("the expression threw: " + json::serialize(*ex));
  const auto& result = o.at("result").as_object();
  const auto* value = result.if_contains("value");
  return value ? *value : json::value{};
}

std::string Chromium::start() {
  const std::string profile = dir_ + "/chromium-profile";
  process_ = Process::start({"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             "--disable-extensions", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                             "--user-data-dir=" + profile, "--remote-debugging-address=127.0.0.1",
                             "--remote-debugging-port=0", "about:blank"},
                            dir_);
  if (!process_.started()) return "chromium did not start";
  // Chromium writes its DevTools port and browser path into the profile once it listens.
  std::string active;
  const auto t0 = LocalClock::now();
  while ((active = read_file(profile + "/DevToolsActivePort")).find('\n') == std::string::npos) {
    if (ms_since(t0) > 20'000 || process_.wait(0ms)) return "chromium did not open its DevTools port: " + process_.describe();
    std::this_thread::sleep_for(100ms);
  }
  const auto port = static_cast<std::uint16_t>(std::stoi(active.substr(0, active.find('\n'))));
  // The page target (about:blank) and its WebSocket path.
  std::string ws_path;
  for (int i = 0; i < 50 && ws_path.empty(); ++i) {
    auto list = get(port, "/json/list", {}, 2s);
    const json::value targets = list.status == 200 ? json::parse(list.body) : json::value(json::array{});
    if (targets.is_array())
      for (const auto& t : targets.as_array())
        if (t.at("type").as_string() == "page") {
          const std::string ws_url(t.at("webSocketDebuggerUrl").as_string());
          ws_path = ws_url.substr(ws_url.find('/', std::string("ws://").size()));
          break;
        }
    if (ws_path.empty()) std::this_thread::sleep_for(100ms);
  }
  if (ws_path.empty()) return "no page target in chromium's /json/list";
  return page_.connect(port, ws_path);
}

PageSampler::PageSampler(DevToolsPage& page, std::string expression, Millis period)
    : page_(page), expression_(std::move(expression)), period_(period), thread_([this] { run(); }) {}

void PageSampler::run() {
  auto next = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    Sample s;
    std::string error;
    try {
      s.value = page_.evaluate(expression_);
    } catch (const std::exception& e) {
      error = e.what();
    }
    s.at = std::chrono::steady_clock::now();
    lock.lock();
    samples_.push_back(std::move(s));
    if (!error.empty()) errors_.push_back(std::move(error));
    next += period_;
    wake_.wait_until(lock, next, [this] { return stop_; });
  }
}

void PageSampler::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<PageSampler::Sample> PageSampler::samples() const {
  std::lock_guard lock(mu_);
  return samples_;
}

std::vector<std::string> PageSampler::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

}  // namespace hlscache::test
