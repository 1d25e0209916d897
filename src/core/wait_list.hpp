// WaitList: coroutines waiting for a condition guarded by the caller's mutex, each
// woken on its own executor (asio::post of a timer cancel) — no polling, and the
// wake-ups are sent after the caller's lock is released (Varnish's waiting-list
// rule). A wait ends when notified or at its deadline.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "core/clock.hpp"

namespace hlscache {

class WaitList {
 public:
  // `lock` holds the mutex guarding the condition. Registers the caller, releases
  // the lock, suspends. Returns true if notified, false at the deadline. The lock
  // is NOT re-acquired: re-check the condition under a new lock.
  boost::asio::awaitable<bool> wait(std::unique_lock<std::mutex>& lock, TimePoint deadline) {
    auto ex = co_await boost::asio::this_coro::executor;
    auto sig = std::make_shared<Signal>(ex);
    sig->timer.expires_at(deadline);
    waiters_.push_back({ex, sig});
    lock.unlock();
    // The wake-up is posted to this single-threaded executor, so it runs only after
    // this coroutine suspends; `signaled` covers a wake-up that lands first anyway.
    if (!sig->signaled) co_await sig->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (!sig->signaled) {
      // Timed out: leave the list, so no timer of this executor outlives its waiter.
      std::lock_guard relock(*lock.mutex());
      std::erase_if(waiters_, [&](const Waiter& w) { return w.signal.expired() || w.signal.lock() == sig; });
    }
    co_return sig->signaled;
  }

  // `lock` holds the guarding mutex: takes the waiters, releases the lock, wakes them.
  void notify_all(std::unique_lock<std::mutex>& lock) {
    std::vector<Waiter> to_wake;
    to_wake.swap(waiters_);
    lock.unlock();
    for (auto& w : to_wake)
      if (auto sig = w.signal.lock())
        boost::asio::post(w.executor, [sig = std::move(sig)] {
          sig->signaled = true;
          sig->timer.cancel();
        });
  }

  std::size_t size() const { return waiters_.size(); }  // under the guarding lock

 private:
  struct Signal {
    explicit Signal(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    bool signaled = false;
  };
  // Weak: the waiting coroutine's frame owns its Signal (and the timer, bound to that
  // frame's io_context), so no timer outlives the io_context it belongs to.
  struct Waiter {
    boost::asio::any_io_executor executor;
    std::weak_ptr<Signal> signal;
  };
  std::vector<Waiter> waiters_;
};

}  // namespace hlscache
