// hlscache entry point: --config FILE runs the daemon, --check-config FILE prints
// the normalized config (or every error, naming key, line and column) and exits.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "config/config.hpp"
#include "core/version.hpp"
#include "server/server.hpp"
#include "server/sd_notify.hpp"
#include "server/sizing.hpp"

namespace {

constexpr const char* kUsage =
    "usage: hlscache --config FILE [--ports-file FILE]\n"
    "       hlscache --check-config FILE\n"
    "       hlscache --version\n"
    "  --config FILE        run the daemon with this YAML config\n"
    "  --check-config FILE  validate FILE, print the normalized config, exit 0 (or print errors, exit 1)\n"
    "  --ports-file FILE    once listening, write each bound host:port to FILE (one per line)\n";

void setup_logging(const hlscache::Config& cfg) {
  // Diagnostics go to stderr, like the config errors (spdlog's default logger writes to stdout).
  spdlog::set_default_logger(spdlog::stderr_color_mt("hlscache"));
  auto level = spdlog::level::from_str(cfg.logging.level);
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, check_path, ports_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto need = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "hlscache: %s needs a value\n%s", a.c_str(), kUsage);
        std::exit(2);
      }
      out = argv[++i];
    };
    if (a == "--config") need(config_path);
    else if (a == "--check-config") need(check_path);
    else if (a == "--ports-file") need(ports_file);
    else if (a == "--version") { std::printf("hlscache %s\n", hlscache::kVersion); return 0; }
    else if (a == "--help" || a == "-h") { std::fputs(kUsage, stdout); return 0; }
    else { std::fprintf(stderr, "hlscache: unknown argument '%s'\n%s", a.c_str(), kUsage); return 2; }
  }
  if (!check_path.empty()) {
    auto cfg = hlscache::load_config_file(check_path);
    if (!cfg) {
      std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
      return 1;
    }
    std::fputs((*cfg)->to_yaml().c_str(), stdout);
    // Valid either way; a cache that cannot hold a segment is worth saying before it runs.
    const hlscache::CacheSizing sizing = hlscache::cache_sizing(**cfg);
    std::printf("# %s\n", sizing.summary().c_str());
    if (sizing.too_small()) std::fprintf(stderr, "%s: warning: %s\n", check_path.c_str(), sizing.warning().c_str());
    return 0;
  }
  if (config_path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto cfg = hlscache::load_config_file(config_path);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return 1;
  }
  setup_logging(**cfg);
  spdlog::info("hlscache {} starting: {}", HLSCACHE_VERSION, (*cfg)->summary());
  if (const auto sizing = hlscache::cache_sizing(**cfg); sizing.too_small()) spdlog::warn("{}", sizing.warning());
  hlscache::Server server(*cfg);
  if (auto st = server.start(); !st) {
    spdlog::error("cannot start: {}", st.error().message);
    return 1;
  }
  if (!ports_file.empty()) {
    std::string tmp = ports_file + ".tmp";
    {
      std::ofstream out(tmp);
      for (const auto& ep : server.endpoints()) out << ep.address().to_string() << ":" << ep.port() << "\n";
    }
    std::rename(tmp.c_str(), ports_file.c_str());
  }
  hlscache::sd_notify("READY=1\nSTATUS=serving");  // every listener is bound (systemd Type=notify)
  return server.wait();
}
