// BodyStream: a response body whose bytes may still be arriving — a coalesced
// fetch's growing object. Readers (h1 or h2 sessions, on their own executors)
// poll for what is published after their offset and, when nothing is, wait to be
// woken (never by a polling timer). Published bytes never change.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <vector>

#include "core/chunk.hpp"
#include "core/result.hpp"

namespace hlscache {

// One slice of published bytes: chunk `chunk`, bytes [begin, end).
struct ChunkSlice {
  Chunk chunk;
  std::size_t begin = 0, end = 0;
};

enum class StreamState { more, complete, failed };

class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Appends to `out` every published byte from `offset` on (no copy: shares chunks).
  // Returns complete once the whole body is published and covered, failed if the
  // fetch failed (the reader must cut the response short), more otherwise.
  virtual StreamState poll(std::uint64_t offset, std::vector<ChunkSlice>& out) = 0;
  // Suspends until bytes beyond `offset` are published, the body completes or fails,
  // or the follower deadline passes (then returns an Errc::timeout error).
  virtual boost::asio::awaitable<Status> wait(std::uint64_t offset) = 0;
};

}  // namespace hlscache
