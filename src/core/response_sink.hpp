// ResponseSink: where a Source writes the response it fetches — interim (1xx) heads,
// then the final head, then body bytes as they arrive, then complete() or fail().
// The coalescer's Fetch is one (every follower streams what it publishes); the miss
// path wraps it to decide, as the head arrives, whether the answer may be shared
// and to turn a 304 into the stored object it validated. Keeping sources on this
// interface is what keeps source/ free of coalesce/ and cache/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/chunk.hpp"
#include "core/http_fields.hpp"
#include "core/result.hpp"

namespace hlscache {

struct ResponseHead {
  int status = 0;
  std::vector<Header> headers;  // end-to-end fields from upstream (no hop-by-hop, no framing)
  std::optional<std::uint64_t> content_length;
};

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Whether publishing wakes the readers now, or the writer already holds more bytes
  // (a socket with data ready) and wakes them with a later Wake::now publication
  // (commit(0) if there is nothing more), complete() or fail() once it has published those.
  enum class Wake { now, later };

  // An informational response (1xx, not 101) that came before the final one. Only
  // 103 Early Hints is worth passing on; sinks may drop the rest. Never after set_head.
  virtual void interim(int status, std::vector<Header> headers) = 0;
  virtual void set_head(ResponseHead head, Wake wake = Wake::now) = 0;
  // Free space at the end of the body to read into; then commit(n) publishes n bytes
  // written there. An empty span once the body would exceed its bound (the writer must fail).
  virtual std::pair<char*, std::size_t> writable() = 0;
  virtual void commit(std::size_t n, Wake wake = Wake::now) = 0;
  virtual void append(std::string_view bytes) = 0;        // writable + copy + commit, for small bodies
  virtual void append_chunk(const Chunk& chunk) = 0;      // an existing immutable chunk, not copied
  virtual void complete() = 0;
  virtual void fail(Error error) = 0;
  virtual std::uint64_t published() const = 0;           // body bytes published so far
};

using SinkPtr = std::shared_ptr<ResponseSink>;

}  // namespace hlscache
