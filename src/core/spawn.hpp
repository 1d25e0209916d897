// The completion handler every co_spawn gets (never asio::detached, which drops an
// exception that escaped a task without a word): the exception is logged with what
// the task was, and counted — hlscache_internal_errors_total, which should stay 0.
//   asio::co_spawn(ex, task(), log_escape("health loop"));
// A task that must leave something behind however it ends (a fetch's waiters
// answered, an in-flight entry finished) does that in an RAII object of its own;
// this handler only reports.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>

namespace hlscache {

struct LogEscape {
  const char* task;
  void operator()(std::exception_ptr e) const;
  template <class T>
  void operator()(std::exception_ptr e, const T&) const { (*this)(e); }
};

inline LogEscape log_escape(const char* task) { return LogEscape{task}; }

// Exceptions that escaped a spawned task since the process started.
std::uint64_t internal_errors() noexcept;

}  // namespace hlscache
