// ConfigHolder: the running config, swappable on reload (SIGHUP). Readers take a
// snapshot once per connection or request (one atomic shared_ptr load) and keep
// it for as long as they use it, so a reload never changes a value mid-request and
// the old Config lives until its last reader lets go.
#pragma once

#include <atomic>
#include <memory>

#include "config/config.hpp"

namespace hlscache {

class ConfigHolder {
 public:
  explicit ConfigHolder(ConfigPtr config) : config_(std::move(config)) {}
  ConfigHolder(const ConfigHolder&) = delete;
  ConfigHolder& operator=(const ConfigHolder&) = delete;

  ConfigPtr get() const { return config_.load(std::memory_order_acquire); }
  void set(ConfigPtr config) { config_.store(std::move(config), std::memory_order_release); }

 private:
  std::atomic<ConfigPtr> config_;
};

}  // namespace hlscache
