#include "coalesce/fetch.hpp"


#include <algorithm>
#include <cstring>

namespace hlscache {

namespace asio = boost::asio;

asio::awaitable<Status> Fetch::suspend(std::unique_lock<std::mutex>& lock, TimePoint deadline) {
  // The await is a statement of its own: GCC 12 miscompiled `if (!co_await ...)` here (the frame
  // was resumed in an invalid state: SIGILL under -fsanitize=undefined).
  const bool woken = co_await waiters_.wait(lock, deadline);
  if (woken) co_return Ok{};
  co_return Error::make(ErrorSource::upstream, Errc::timeout, "follower waited too long for the upstream fetch");
}

void Fetch::interim(int status, std::vector<Header> headers) {
  std::unique_lock lock(mu_);
  if (phase_ != Phase::head_pending || interims_.size() >= kMaxInterims) return;
  interims_.push_back(Interim{status, std::move(headers)});
  waiters_.notify_all(lock);
}

std::vector<Fetch::Interim> Fetch::interims() const {
  std::lock_guard lock(mu_);
  return interims_;
}

void Fetch::set_head(ResponseHead head, Wake wake) {
  std::unique_lock lock(mu_);
  if (phase_ != Phase::head_pending) return;
  head_ = std::move(head);
  phase_ = Phase::streaming;
  if (wake == Wake::now) waiters_.notify_all(lock);
}

std::pair<char*, std::size_t> Fetch::writable() {
  std::size_t cap = 0;
  {
    std::lock_guard lock(mu_);
    if (published_ >= max_body_) return {nullptr, 0};
    if (!chunks_.empty() && !tail_shared_ && chunks_.back().size < chunks_.back().capacity) return room_in_tail();
    // What is left of a known length, up to the largest chunk; 64 KiB at a time otherwise.
    cap = Chunk::kDefaultCapacity;
    if (head_.content_length && *head_.content_length > published_)
      cap = static_cast<std::size_t>(std::min<std::uint64_t>(*head_.content_length - published_, Chunk::max_capacity()));
  }
  // Made outside the lock: a page-store chunk's pages are allocated now (~0.5 ms per
  // MiB), and readers polling the published bytes must not wait for that. Only the
  // writer adds chunks, so the tail cannot change meanwhile.
  Chunk fresh = Chunk::allocate(std::max<std::size_t>(cap, 1));
  std::lock_guard lock(mu_);
  tail_shared_ = false;
  chunk_starts_.push_back(published_);
  chunks_.push_back(std::move(fresh));
  return room_in_tail();
}

std::pair<char*, std::size_t> Fetch::room_in_tail() {
  auto& c = chunks_.back();
  std::size_t room = std::min<std::uint64_t>(c.capacity - c.size, max_body_ - published_);
  // Bytes past `size` are invisible to readers until commit() publishes them.
  return {c.bytes.get() + c.size, room};
}

void Fetch::commit(std::size_t n, Wake wake) {
  if (n == 0 && wake == Wake::later) return;
  std::unique_lock lock(mu_);
  if (n > 0) {
    chunks_.back().size += n;
    published_ += n;
  }
  if (wake == Wake::now) waiters_.notify_all(lock);
}


void Fetch::append(std::string_view bytes) {
  while (!bytes.empty()) {
    auto [p, room] = writable();
    if (room == 0) return fail(Error::make(ErrorSource::internal, Errc::too_large, "body over limits.max_object_bytes"));
    std::size_t n = std::min(room, bytes.size());
    std::memcpy(p, bytes.data(), n);
    commit(n);
    bytes.remove_prefix(n);
  }
}

void Fetch::append_chunk(const Chunk& chunk) {
  std::unique_lock lock(mu_);
  if (phase_ != Phase::streaming || chunk.size == 0) return;
  if (published_ + chunk.size > max_body_) {
    lock.unlock();
    return fail(Error::make(ErrorSource::internal, Errc::too_large, "body over limits.max_object_bytes"));
  }
  chunk_starts_.push_back(published_);
  chunks_.push_back(chunk);
  tail_shared_ = true;
  published_ += chunk.size;
  waiters_.notify_all(lock);
}

void Fetch::complete() {
  // Shrink a mostly-empty trailing chunk so the cache is charged for what is used. The
  // copy is made, and the old chunk freed, outside the lock (both may be page-store work).
  Chunk tail;
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::streaming && !chunks_.empty() && chunks_.back().capacity > 2 * chunks_.back().size + 1024)
      tail = chunks_.back();
  }
  Chunk shrunk = tail.bytes ? Chunk::copy_of(tail.view()) : Chunk{};
  std::unique_lock lock(mu_);
  if (phase_ == Phase::complete || phase_ == Phase::failed) return;
  if (phase_ == Phase::head_pending) {
    phase_ = Phase::failed;
    error_ = Error::make(ErrorSource::internal, Errc::protocol, "fetch completed without a response head");
  } else {
    // The old tail is released after the lock (shrunk holds it then). Only the writer
    // changes the tail, and it is here; a tail that changed anyway is left alone.
    if (shrunk.bytes && chunks_.back().bytes == tail.bytes && chunks_.back().size == tail.size)
      std::swap(chunks_.back(), shrunk);
    phase_ = Phase::complete;
  }
  waiters_.notify_all(lock);
}

void Fetch::fail(Error error) {
  std::unique_lock lock(mu_);
  if (phase_ == Phase::complete || phase_ == Phase::failed) return;
  phase_ = Phase::failed;
  error_ = std::move(error);
  waiters_.notify_all(lock);
}

asio::awaitable<Result<ResponseHead>> Fetch::wait_head() { co_return co_await wait_head(follower_wait_); }

asio::awaitable<Result<ResponseHead>> Fetch::wait_head(Duration max_wait) {
  const TimePoint deadline = SteadyClock::now() + std::min(max_wait, follower_wait_);
  for (;;) {
    std::unique_lock lock(mu_);
    if (phase_ == Phase::failed) co_return *error_;
    if (phase_ != Phase::head_pending) co_return head_;
    Status st = co_await suspend(lock, deadline);
    if (!st) co_return st.error();
  }
}

asio::awaitable<std::optional<Result<ResponseHead>>> Fetch::wait_head_or_interim(std::size_t seen, TimePoint deadline) {
  for (;;) {
    std::unique_lock lock(mu_);
    if (phase_ == Phase::failed) co_return Result<ResponseHead>(*error_);
    if (phase_ != Phase::head_pending) co_return Result<ResponseHead>(head_);
    if (interims_.size() > seen) co_return std::nullopt;
    Status st = co_await suspend(lock, deadline);
    if (!st) co_return Result<ResponseHead>(st.error());
  }
}

StreamState Fetch::poll(std::uint64_t offset, std::vector<ChunkSlice>& out) {
  std::lock_guard lock(mu_);
  if (phase_ == Phase::failed) return StreamState::failed;
  // The last chunk starting at or before `offset`, then everything after it.
  auto it = std::upper_bound(chunk_starts_.begin(), chunk_starts_.end(), offset);
  std::size_t i = it == chunk_starts_.begin() ? 0 : static_cast<std::size_t>(it - chunk_starts_.begin()) - 1;
  for (; i < chunks_.size(); ++i) {
    const Chunk& c = chunks_[i];
    const std::uint64_t pos = chunk_starts_[i], end = pos + c.size;
    if (end > offset && c.size > 0)
      out.push_back({c, static_cast<std::size_t>(std::max(offset, pos) - pos), c.size});
  }
  return phase_ == Phase::complete ? StreamState::complete : StreamState::more;
}

asio::awaitable<Status> Fetch::wait(std::uint64_t offset) {
  const TimePoint deadline = SteadyClock::now() + follower_wait_;
  std::unique_lock lock(mu_);
  if (phase_ == Phase::failed || phase_ == Phase::complete || published_ > offset) co_return Ok{};
  co_return co_await suspend(lock, deadline);
}

void Fetch::set_share_rule(std::shared_ptr<const ShareRule> rule) {
  std::lock_guard lock(mu_);
  share_rule_ = std::move(rule);
}
std::shared_ptr<const ShareRule> Fetch::share_rule() const {
  std::lock_guard lock(mu_);
  return share_rule_;
}

Fetch::Phase Fetch::phase() const {
  std::lock_guard lock(mu_);
  return phase_;
}
std::optional<Error> Fetch::error() const {
  std::lock_guard lock(mu_);
  return error_;
}
std::uint64_t Fetch::published() const {
  std::lock_guard lock(mu_);
  return published_;
}
ResponseHead Fetch::head() const {
  std::lock_guard lock(mu_);
  return head_;
}
std::vector<Chunk> Fetch::body_chunks() const {
  std::lock_guard lock(mu_);
  return chunks_;
}

}  // namespace hlscache
