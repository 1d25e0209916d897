// Fetch: one upstream fetch in flight and the object it is growing — the shared
// state of request coalescing (read-while-writer). The fetch task (the Leader's
// work, owned by the coalescer, not by any client) publishes the response head,
// then body bytes chunk by chunk; every reader (Follower, and the first client
// too) streams what is published and is woken on its own executor when more
// lands — by a posted timer cancel, never by polling. Waiters to wake are
// collected under the lock and woken after it is released.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "cache/object.hpp"
#include "core/result.hpp"
#include "core/wait_list.hpp"
#include "core/body_stream.hpp"
#include "core/response_sink.hpp"

namespace hlscache {

// Who besides the leader's own client may use a fetch's answer: decided by the
// leader when its head arrives (leader_sink.hpp) and set before the head is
// published, so a reader that sees the head sees the rule.
struct ShareRule {
  bool shared = true;              // false: only the leader's client (private, no-store, Set-Cookie...)
  bool retry = false;              // not shared because of the leader's own request (Authorization): the key
                                   // was released at the head, followers may miss again and coalesce anew
  std::vector<std::string> vary;   // request fields the answer varies on (lowercase)
  std::string leader_values;       // vary_values(vary, the leader's forwarded request)
  std::vector<std::string> strip;  // fields only the leader's client gets (Set-Cookie of a public answer, private="f")
};

class Fetch final : public BodyStream, public ResponseSink, public std::enable_shared_from_this<Fetch> {
 public:
  enum class Phase { head_pending, streaming, complete, failed };

  Fetch(TimePoint created, Duration follower_wait, std::uint64_t max_body)
      : created_(created), follower_wait_(follower_wait), max_body_(max_body) {}

  // --- writer side (the fetch task): the ResponseSink ---
  // One writer: these calls come from one task and never overlap (writable() and
  // complete() rely on it: they allocate outside the lock). fail() may also come from
  // elsewhere once that task has ended. Wake::later (see ResponseSink): a follower
  // woken per 64 KiB read makes a send per read (32 per 1 MiB segment in a herd)
  // where one gather write of what is there would do. complete() and fail() always wake.
  using Wake = ResponseSink::Wake;
  void interim(int status, std::vector<Header> headers) override;  // kept (bounded) for readers; see interims()
  void set_head(ResponseHead head, Wake wake = Wake::now) override;
  std::pair<char*, std::size_t> writable() override;
  void commit(std::size_t n, Wake wake = Wake::now) override;
  void append(std::string_view bytes) override;
  void append_chunk(const Chunk& chunk) override;
  void complete() override;
  void fail(Error error) override;

  // --- reader side ---
  // Waits until the head is published (or the fetch failed / the follower deadline passed).
  boost::asio::awaitable<Result<ResponseHead>> wait_head();
  // Waits until the head is published or more than `seen` interim responses are, or
  // `deadline` (then Errc::timeout): so a reader can pass a 103 on while the final
  // answer is still coming. nullopt: an interim woke it; the head is not there yet.
  boost::asio::awaitable<std::optional<Result<ResponseHead>>> wait_head_or_interim(std::size_t seen, TimePoint deadline);
  struct Interim {
    int status = 0;
    std::vector<Header> headers;
  };
  std::vector<Interim> interims() const;  // a copy, in arrival order
  // The same, giving up (Errc::timeout) after `max_wait` if that is shorter than the follower wait.
  boost::asio::awaitable<Result<ResponseHead>> wait_head(Duration max_wait);
  StreamState poll(std::uint64_t offset, std::vector<ChunkSlice>& out) override;
  boost::asio::awaitable<Status> wait(std::uint64_t offset) override;

  // The leader's verdict (null until set: shared, nothing stripped).
  void set_share_rule(std::shared_ptr<const ShareRule> rule);
  std::shared_ptr<const ShareRule> share_rule() const;

  Phase phase() const;
  std::optional<Error> error() const;
  std::uint64_t published() const override;
  ResponseHead head() const;  // a copy; meaningful once the head is published
  // The completed body's chunks (a trailing chunk much larger than its content is
  // shrunk to fit, so the cache is not charged for empty space). Only after complete().
  std::vector<Chunk> body_chunks() const;
  TimePoint created() const { return created_; }
  Duration follower_wait() const { return follower_wait_; }

 private:
  static constexpr std::size_t kMaxInterims = 4;
  boost::asio::awaitable<Status> suspend(std::unique_lock<std::mutex>& lock, TimePoint deadline);
  std::pair<char*, std::size_t> room_in_tail();  // under mu_: the writable rest of the last chunk

  const TimePoint created_;
  const Duration follower_wait_;
  const std::uint64_t max_body_;

  mutable std::mutex mu_;
  Phase phase_ = Phase::head_pending;
  ResponseHead head_;
  std::optional<Error> error_;
  std::vector<Chunk> chunks_;
  std::vector<std::uint64_t> chunk_starts_;  // body offset of each chunk: poll() finds its first one by binary search
  std::uint64_t published_ = 0;
  bool tail_shared_ = false;  // the last chunk came from append_chunk: never write into it
  std::vector<Interim> interims_;  // at most kMaxInterims
  std::shared_ptr<const ShareRule> share_rule_;
  WaitList waiters_;
};

using FetchPtr = std::shared_ptr<Fetch>;

}  // namespace hlscache
