// Daemon: runs the real hlscache binary for an integration test. start() writes the
// YAML into a fresh temp dir, spawns `hlscache --config ... --ports-file ...` with
// stderr captured to a file, and waits (bounded) until the ports file appears.
// Every wait is bounded; the destructor kills a daemon that is still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hlscache::test {

// Path of the daemon under test (set at compile time by CMake).
const char* daemon_binary();

// How a child process ended, as the tests want to read it.
struct ExitStatus {
  bool exited = false;    // normal exit (then code is the exit code)
  int code = -1;
  bool signaled = false;  // killed by a signal (then signal is set)
  int signal = 0;
  bool timed_out = false; // did not end in time and was SIGKILLed
  std::string describe() const;
};

struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;
  std::string err;
};

// Runs `hlscache args...` to completion (bounded), capturing stdout and stderr.
CommandResult run_hlscache(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Writes `yaml` to a temp file and runs `hlscache --check-config FILE`.
CommandResult check_config(const std::string& yaml, std::string* config_path = nullptr);

class Daemon {
 public:
  struct Options {
    std::chrono::milliseconds start_timeout{10'000};   // until the ports file appears
    std::vector<std::string> extra_args;
  };

  Daemon() = default;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  Daemon(Daemon&& other) noexcept;
  Daemon& operator=(Daemon&& other) noexcept;
  ~Daemon();

  // Starts the daemon; on failure the returned daemon is not running() and
  // error() says why (with the daemon's stderr).
  static Daemon start(const std::string& yaml, Options opts);
  static Daemon start(const std::string& yaml) { return start(yaml, Options{}); }

  bool running() const { return pid_ > 0 && !status_; }
  const std::string& error() const { return error_; }
  pid_t pid() const { return pid_; }

  // Bound listener i (in config order), as written to the ports file.
  std::uint16_t port(std::size_t i = 0) const;
  const std::vector<std::string>& endpoints() const { return endpoints_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& dir() const { return dir_; }

  std::string log() const;  // everything the daemon wrote to stderr so far

  // Sends `sig`, waits up to `timeout` for the exit; if it has not exited then,
  // SIGKILLs it and returns a status with timed_out set.
  ExitStatus stop(int sig = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits (bounded) for an exit that is expected to happen on its own.
  std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);
  // Sends a signal without waiting.
  void signal(int sig) const;

 private:
  void kill_now();

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::string dir_;
  std::string config_path_;
  std::string ports_path_;
  std::string log_path_;
  std::vector<std::string> endpoints_;
  std::string error_;
};

// Writes text to a file (throws on failure) and reads a whole file ("" if absent).
// fork + exec (PATH searched) with stdin from /dev/null and stdout/stderr to the given
// files; the child gets SIGKILL if the test process dies. Throws if fork fails.
pid_t spawn(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path);

void write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);
// A fresh directory under $TMPDIR (or /tmp), removed by remove_tree.
std::string make_temp_dir(const std::string& prefix = "hlscache-it-");
void remove_tree(const std::string& path);

}  // namespace hlscache::test
