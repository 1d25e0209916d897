// Headless Chromium for integration tests that need a real player: start the browser
// with a fresh profile, find its page target, and drive that page over the DevTools
// protocol (navigate, evaluate JavaScript once or every so often on a thread of its
// own), collecting the page's console errors on the way. Blocking calls, each bounded.
// (status_page_test.cpp plays the status page; edge_restart_player_test.cpp plays a
// stream through an edge while its upstream restarts.)
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "local_test_util.hpp"

namespace hlscache::test {

// True if `chromium --version` runs. Checked once.
bool have_chromium();
// The project's assets/ (the status page's player, hls.js, as tools/setup/fetch-assets.sh
// puts it), and "" when hls.min.js is there, else what is missing and what fetches it.
std::string assets_dir();
std::string hlsjs_missing();
// A test that plays with hls.js in Chromium: skipped without chromium, failed without hls.js.
#define PLAYER_REQUIRE_CHROMIUM_AND_HLSJS()                                                         \
  do {                                                                                              \
    if (!::hlscache::test::have_chromium())                                                         \
      GTEST_SKIP() << "chromium is not installed (tools/setup/install-deps.sh installs it)";       \
    ASSERT_EQ(::hlscache::test::hlsjs_missing(), "");                                               \
  } while (0)

// The DevTools session of one page target. Every call reads messages until its reply
// (or, for navigate, the load event) and notes the events it reads: console.error and
// console.assert calls, uncaught exceptions, error log entries (failed loads).
class DevToolsPage {
 public:
  DevToolsPage();
  ~DevToolsPage();
  DevToolsPage(const DevToolsPage&) = delete;
  DevToolsPage& operator=(const DevToolsPage&) = delete;

  // Connects to ws://127.0.0.1:port<ws_path> and enables the Runtime, Log and Page
  // domains. "" on success, else what failed.
  std::string connect(std::uint16_t port, const std::string& ws_path);
  // One command; its reply's "result". Throws std::runtime_error on an error reply, a
  // failed connection or the timeout.
  boost::json::value call(const std::string& method, boost::json::object params, Millis timeout = 10s);
  // Page.navigate, then waits for the page's load event. Throws like call().
  void navigate(const std::string& url, Millis timeout = 10s);
  // The value of a JavaScript expression (a promise is awaited). Throws like call(), and
  // if the expression threw.
  boost::json::value evaluate(const std::string& expression, Millis timeout = 5s);

  // What the page reported as errors so far (call it when no other thread drives the page).
  const std::vector<std::string>& console_errors() const { return console_errors_; }

 private:
  struct Session;
  void note_event(const boost::json::object& message);

  std::unique_ptr<Session> session_;
  int next_id_ = 0;
  bool loaded_ = false;  // Page.loadEventFired seen since the last navigate
  std::vector<std::string> console_errors_;
};

// A headless Chromium (its own profile under `dir`) and the DevTools session of its page.
class Chromium {
 public:
  explicit Chromium(std::string dir) : dir_(std::move(dir)) {}
  ~Chromium() { process_.kill(); }
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  // Starts the browser, waits (bounded) for its DevTools port and its page target and
  // connects to the page. "" on success, else what failed.
  std::string start();
  DevToolsPage& page() { return page_; }
  std::string describe() const { return process_.describe(); }

 private:
  std::string dir_;
  Process process_;
  DevToolsPage page_;
};

// Evaluates an expression in the page every `period` on a thread of its own, until
// stop() (or destruction), keeping each value with the instant it was read. The page
// is the sampler's while it runs.
class PageSampler {
 public:
  struct Sample {
    std::chrono::steady_clock::time_point at;
    boost::json::value value;  // null if the evaluation failed (see errors())
  };

  PageSampler(DevToolsPage& page, std::string expression, Millis period);
  ~PageSampler() { stop(); }
  PageSampler(const PageSampler&) = delete;
  PageSampler& operator=(const PageSampler&) = delete;

  void stop();
  std::vector<Sample> samples() const;
  std::vector<std::string> errors() const;

 private:
  void run();

  DevToolsPage& page_;
  std::string expression_;
  Millis period_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<Sample> samples_;
  std::vector<std::string> errors_;
  std::thread thread_;
};

}  // namespace hlscache::test
