// deploy/systemd/hlscache@.service and the daemon's side of it: the unit passes
// `systemd-analyze verify` (Debian's systemd; with its ExecStart pointed at the binary
// under test, since verify wants the executable to exist) and says what
// docs/deployment.md#systemd promises — Type=notify, reload by SIGHUP to $MAINPID only,
// a stop timeout above the drain, the hardening options; and the daemon speaks the
// sd_notify protocol to $NOTIFY_SOCKET: READY=1 once listening, RELOADING=1 then
// READY=1 around a SIGHUP, STOPPING=1 when SIGTERM starts the drain.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "local_test_util.hpp"
#include "support/daemon.hpp"

namespace hlscache::test {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = HLSCACHE_SOURCE_DIR;
const fs::path kUnit = kSource / "deploy/systemd/hlscache@.service";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

// [Service] key -> every value given (a key may repeat).
std::multimap<std::string, std::string> section(const std::string& text, const std::string& name) {
  std::multimap<std::string, std::string> out;
  std::istringstream in(text);
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      current = line.substr(1, line.find(']') - 1);
      continue;
    }
    const auto eq = line.find('=');
    if (current == name && eq != std::string::npos) out.emplace(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

std::string one(const std::multimap<std::string, std::string>& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? "" : it->second;
}

TEST(SystemdUnit, SaysWhatTheDocsPromise) {
  const std::string text = read_file(kUnit.string());
  ASSERT_FALSE(text.empty()) << kUnit;
  const auto svc = section(text, "Service");
  EXPECT_EQ(one(svc, "Type"), "notify");
  EXPECT_EQ(one(svc, "ExecStart"), "/usr/local/bin/hlscache --config /etc/hlscache/%i.yaml");
  EXPECT_EQ(one(svc, "ExecReload"), "/bin/kill -HUP $MAINPID") << "reload must signal this instance only";
  EXPECT_EQ(one(svc, "KillSignal"), "SIGTERM");
  EXPECT_GE(std::atoi(one(svc, "TimeoutStopSec").c_str()), 10 + 5) << "above timeouts.drain (10 s) with room";
  for (const char* key : {"NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                          "ProtectKernelModules", "ProtectControlGroups", "RestrictSUIDSGID", "LockPersonality",
                          "MemoryDenyWriteExecute", "DynamicUser"})
    EXPECT_EQ(one(svc, key), "yes") << key;
  EXPECT_EQ(one(svc, "ProtectSystem"), "strict");
  EXPECT_EQ(one(svc, "CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
  EXPECT_EQ(one(svc, "SystemCallFilter"), "@system-service");
  EXPECT_EQ(one(section(text, "Install"), "WantedBy"), "multi-user.target");
}

TEST(SystemdUnit, PassesSystemdAnalyzeVerify) {
  if (run_command({"systemd-analyze", "--version"}, std::chrono::seconds(10)).exit_code != 0)
    GTEST_SKIP() << "systemd-analyze not installed (Debian package systemd); SystemdUnit.SaysWhatTheDocsPromise "
                    "parsed the unit instead";
  const std::string tmp = make_temp_dir("hlscache-systemd-");
  // An instance of the template, run from the binary under test.
  const std::string unit = tmp + "/hlscache@edge.service";
  write_file(unit, replace_all(read_file(kUnit.string()), "/usr/local/bin/hlscache", daemon_binary()));
  auto r = run_command({"systemd-analyze", "verify", unit}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* bad : {"Unknown", "ignoring", "not executable", "Failed", "rror"})
    EXPECT_EQ(r.err.find(bad), std::string::npos) << r.err;
  remove_tree(tmp);
}

// A datagram socket bound to a path, as systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool ok() const { return fd_ >= 0; }
  // The next message, "" after `timeout`.
  std::string next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(SystemdNotify, ReadyThenReloadingAndReadyThenStopping) {
  const std::string tmp = make_temp_dir("hlscache-notify-");
  NotifySocket sock(tmp + "/notify");
  ASSERT_TRUE(sock.ok());
  ::setenv("NOTIFY_SOCKET", (tmp + "/notify").c_str(), 1);
  auto d = Daemon::start("role: edge\nlisten:\n  - address: 127.0.0.1:0\nlogging: {level: warn}\n"
                         "timeouts: {drain: 2s}\nupstream:\n  hosts: ['127.0.0.1:1']\n");
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(d.running()) << d.error();
  auto ready = sock.next(std::chrono::seconds(5));
  EXPECT_EQ(ready.rfind("READY=1\n", 0), 0u) << ready;

  d.signal(SIGHUP);
  auto reloading = sock.next(std::chrono::seconds(5));
  EXPECT_EQ(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << reloading;
  auto ready_again = sock.next(std::chrono::seconds(5));
  EXPECT_EQ(ready_again.rfind("READY=1\n", 0), 0u) << ready_again;
  EXPECT_NE(ready_again.find("config reloaded"), std::string::npos) << ready_again;

  d.signal(SIGTERM);
  auto stopping = sock.next(std::chrono::seconds(5));
  EXPECT_EQ(stopping.rfind("STOPPING=1\n", 0), 0u) << stopping;
  auto exit = d.wait_exit(std::chrono::seconds(5));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->describe();
  remove_tree(tmp);
}

}  // namespace
}  // namespace hlscache::test
