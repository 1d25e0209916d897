// IoDeadline: one timer per connection for all of its I/O deadlines (header read,
// keep-alive idle, send). Setting a deadline is a store — no timer operation — where
// Beast's tcp_stream starts and cancels a timer wait around every read and write
// (~12 % of the instructions of a 4 KiB hit, callgrind). The timer wakes at most once
// per `granularity` (the shortest duration the connection uses) while a deadline is
// set; since every deadline is at least that far ahead when set, the timer never needs
// moving earlier, and a deadline that falls before the next wake is waited for exactly.
// When a deadline passes, `on_expire` runs (it cancels the connection's socket
// operations, which complete with operation_aborted) and expired() is true until the
// next set() or clear(). The expiry is sticky: an operation that completed just before
// the cancel (its completion already queued) may be followed by another one, so
// on_expire runs again every `granularity` until the owner sets or clears the
// deadline, and owners check expired() before starting an operation.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>

#include "core/clock.hpp"

namespace hlscache {

class IoDeadline {
 public:
  IoDeadline(const boost::asio::any_io_executor& ex, Duration granularity, std::function<void()> on_expire)
      : state_(std::make_shared<State>(ex, granularity, std::move(on_expire))) {}
  ~IoDeadline() { stop(); }
  IoDeadline(const IoDeadline&) = delete;
  IoDeadline& operator=(const IoDeadline&) = delete;

  // The next I/O must finish within `d` of now. `d` below the granularity is waited for
  // exactly too (the timer is moved, at the cost of one timer operation).
  void set(Duration d) {
    State& s = *state_;
    const TimePoint now = SteadyClock::now();
    s.deadline = now + d;
    s.expired = false;
    if (!s.waiting) {
      wait_until(state_, std::min(s.deadline, now + s.granularity));
    } else if (s.deadline < s.timer.expiry()) {
      s.timer.cancel();  // the pending wait sees `deadline` and waits again for it
    }
  }
  void clear() {
    state_->deadline = TimePoint::max();
    state_->expired = false;
  }
  bool expired() const { return state_->expired; }
  // Ends the timer's wait; the connection is going away.
  void stop() {
    if (!state_) return;
    state_->on_expire = nullptr;
    state_->stopped = true;
    state_->timer.cancel();
  }

 private:
  struct State {
    State(const boost::asio::any_io_executor& ex, Duration g, std::function<void()> f)
        : timer(ex), granularity(g), on_expire(std::move(f)) {}
    boost::asio::steady_timer timer;
    const Duration granularity;
    std::function<void()> on_expire;
    TimePoint deadline = TimePoint::max();
    bool waiting = false, expired = false, stopped = false;
  };

  // The handler holds the state, not the connection: it may run after the connection is gone.
  static void wait_until(const std::shared_ptr<State>& sp, TimePoint at) {
    sp->waiting = true;
    sp->timer.expires_at(at);
    sp->timer.async_wait([sp](const boost::system::error_code&) {
      State& s = *sp;
      s.waiting = false;
      if (s.stopped || s.deadline == TimePoint::max()) return;  // stopped, or nothing to time: wait again at set()
      const TimePoint now = SteadyClock::now();
      if (now >= s.deadline) {
        s.expired = true;
        if (s.on_expire) s.on_expire();
        wait_until(sp, now + s.granularity);  // and again, until set() or clear()
        return;
      }
      wait_until(sp, std::min(s.deadline, now + s.granularity));
    });
  }

  std::shared_ptr<State> state_;
};

}  // namespace hlscache
