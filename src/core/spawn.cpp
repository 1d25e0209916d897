#include "core/spawn.hpp"

#include <spdlog/spdlog.h>

namespace hlscache {

namespace {
std::atomic<std::uint64_t> g_internal_errors{0};
}  // namespace

void LogEscape::operator()(std::exception_ptr e) const {
  if (!e) return;
  g_internal_errors.fetch_add(1, std::memory_order_relaxed);
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& err) {
    spdlog::error("internal error: {} ended by an exception: {}", task, err.what());
  } catch (...) {
    spdlog::error("internal error: {} ended by an exception of unknown type", task);
  }
}

std::uint64_t internal_errors() noexcept { return g_internal_errors.load(std::memory_order_relaxed); }

}  // namespace hlscache
