#include "support/daemon.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef HLSCACHE_BIN
#error "HLSCACHE_BIN must name the hlscache binary (set by tests/integration/CMakeLists.txt)"
#endif

namespace hlscache::test {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::milliseconds(5);

ExitStatus decode(int wstatus) {
  ExitStatus s;
  if (WIFEXITED(wstatus)) {
    s.exited = true;
    s.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    s.signaled = true;
    s.signal = WTERMSIG(wstatus);
  }
  return s;
}

// Reaps `pid` if it has exited by `deadline`.
std::optional<ExitStatus> wait_until(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    int wstatus = 0;
    pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) return decode(wstatus);
    if (r < 0 && errno != EINTR) {
      ExitStatus s;  // not our child any more (should not happen): report as gone
      s.exited = true;
      return s;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPoll);
  }
}

ExitStatus kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  auto s = decode(wstatus);
  s.timed_out = true;
  return s;
}

std::uint16_t parse_port(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::strtoul(endpoint.c_str() + colon + 1, nullptr, 10));
}

}  // namespace

// fork + exec with stdin from /dev/null and stdout/stderr to the given files. The
// child gets SIGKILL if the test process dies, so no daemon outlives its test.
pid_t spawn(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

const char* daemon_binary() { return HLSCACHE_BIN; }

std::string ExitStatus::describe() const {
  std::string s;
  if (exited) s = "exited with code " + std::to_string(code);
  else if (signaled) s = std::string("killed by signal ") + ::strsignal(signal);
  else s = "still running";
  if (timed_out) s += " (did not exit in time: SIGKILLed)";
  return s;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  return tmpl;
}

void remove_tree(const std::string& path) {
  if (path.empty() || std::getenv("HLSCACHE_KEEP_TEST_DIRS")) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

CommandResult run_hlscache(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::string dir = make_temp_dir("hlscache-cmd-");
  std::vector<std::string> argv{daemon_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = spawn(argv, dir + "/stdout", dir + "/stderr");
  CommandResult r;
  auto st = wait_until(pid, Clock::now() + timeout);
  if (!st) {
    kill_and_reap(pid);
    ADD_FAILURE() << "hlscache did not finish within " << timeout.count() << " ms";
  } else if (st->exited) {
    r.exit_code = st->code;
  }
  r.out = read_file(dir + "/stdout");
  r.err = read_file(dir + "/stderr");
  remove_tree(dir);
  return r;
}

CommandResult check_config(const std::string& yaml, std::string* config_path) {
  // The path is handed back so tests can match FILE:LINE:COL in the errors; the file
  // itself is removed after the run.
  static int counter = 0;
  std::string dir = make_temp_dir("hlscache-check-");
  std::string path = dir + "/config" + std::to_string(++counter) + ".yaml";
  write_file(path, yaml);
  if (config_path) *config_path = path;
  auto r = run_hlscache({"--check-config", path});
  remove_tree(dir);
  return r;
}

Daemon::Daemon(Daemon&& o) noexcept { *this = std::move(o); }

Daemon& Daemon::operator=(Daemon&& o) noexcept {
  if (this != &o) {
    kill_now();
    remove_tree(dir_);
    pid_ = std::exchange(o.pid_, -1);
    status_ = std::exchange(o.status_, std::nullopt);
    dir_ = std::exchange(o.dir_, {});
    config_path_ = std::move(o.config_path_);
    ports_path_ = std::move(o.ports_path_);
    log_path_ = std::move(o.log_path_);
    endpoints_ = std::move(o.endpoints_);
    error_ = std::move(o.error_);
  }
  return *this;
}

Daemon::~Daemon() {
  kill_now();
  remove_tree(dir_);
}

void Daemon::kill_now() {
  if (pid_ > 0 && !status_) status_ = kill_and_reap(pid_);
}

Daemon Daemon::start(const std::string& yaml, Options opts) {
  Daemon d;
  d.dir_ = make_temp_dir();
  d.config_path_ = d.dir_ + "/hlscache.yaml";
  d.ports_path_ = d.dir_ + "/ports";
  d.log_path_ = d.dir_ + "/stderr.log";
  write_file(d.config_path_, yaml);
  std::vector<std::string> argv{daemon_binary(), "--config", d.config_path_, "--ports-file", d.ports_path_};
  argv.insert(argv.end(), opts.extra_args.begin(), opts.extra_args.end());
  d.pid_ = spawn(argv, d.dir_ + "/stdout.log", d.log_path_);

  auto deadline = Clock::now() + opts.start_timeout;
  for (;;) {
    // The daemon writes ports.tmp and renames it: once the file exists it is complete.
    if (::access(d.ports_path_.c_str(), F_OK) == 0) {
      std::istringstream in(read_file(d.ports_path_));
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) d.endpoints_.push_back(line);
      return d;
    }
    if (auto st = wait_until(d.pid_, Clock::now())) {
      d.status_ = st;
      d.error_ = "hlscache " + st->describe() + " before listening; stderr:\n" + d.log();
      return d;
    }
    if (Clock::now() >= deadline) {
      d.status_ = kill_and_reap(d.pid_);
      d.error_ = "hlscache did not write its ports file within " + std::to_string(opts.start_timeout.count()) +
                 " ms; stderr:\n" + d.log();
      return d;
    }
    std::this_thread::sleep_for(kPoll);
  }
}

std::uint16_t Daemon::port(std::size_t i) const {
  if (i >= endpoints_.size()) {
    ADD_FAILURE() << "the daemon has no listener #" << i << " (it has " << endpoints_.size() << ")";
    return 0;
  }
  return parse_port(endpoints_[i]);
}

std::string Daemon::log() const { return read_file(log_path_); }

void Daemon::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<ExitStatus> Daemon::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  status_ = wait_until(pid_, Clock::now() + timeout);
  return status_;
}

ExitStatus Daemon::stop(int sig, std::chrono::milliseconds timeout) {
  if (status_) return *status_;
  if (pid_ <= 0) return ExitStatus{};
  ::kill(pid_, sig);
  if (auto st = wait_until(pid_, Clock::now() + timeout)) {
    status_ = st;
    return *st;
  }
  status_ = kill_and_reap(pid_);
  ADD_FAILURE() << "hlscache did not exit within " << timeout.count() << " ms of signal " << sig
                << "; SIGKILLed. stderr:\n"
                << log();
  return *status_;
}

}  // namespace hlscache::test
