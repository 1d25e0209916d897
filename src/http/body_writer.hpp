// BodyWriter: how a session's bytes reach its socket — a gather list of memory runs
// (heads, chunk or frame headers) and body chunk slices, never copied. On clear TCP
// it writes what the (non-blocking) socket takes at once and suspends only for the
// rest; body ranges that live in the page store (cache.sendfile) go with sendfile(2)
// between sendmsg(MSG_MORE) runs, so the kernel takes the pages instead of copying
// them. On TLS one gather write (the record layer copies anyway). HTTP/1.1 writes
// every response through it; HTTP/2 its clear-TCP batches of frames.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/clock.hpp"
#include "core/page_store.hpp"
#include "http/io_deadline.hpp"
#include "http/streams.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

template <class Stream>
class BodyWriter {
 public:
  // `deadline`: armed with `send_timeout` while a write waits (null: the caller
  // bounds writes itself). `sendfile`: page-store ranges may go with sendfile(2).
  BodyWriter(Stream& stream, Metrics& metrics, IoDeadline* deadline, Duration send_timeout, bool sendfile)
      : stream_(stream), metrics_(metrics), deadline_(deadline), send_timeout_(send_timeout), sendfile_(sendfile) {}

  // Writes every byte of `bufs`, then leaves it empty. False on an error or timeout.
  boost::asio::awaitable<bool> write(std::vector<boost::asio::const_buffer>& bufs);

 private:
  boost::asio::awaitable<bool> write_with_sendfile(std::vector<boost::asio::const_buffer>& bufs,
                                                   const PageStore& store);
  Stream& stream_;
  Metrics& metrics_;
  IoDeadline* deadline_;
  Duration send_timeout_;
  bool sendfile_;
};

// Drops the first `n` bytes of `bufs`; true when nothing is left.
bool drop_written(std::vector<boost::asio::const_buffer>& bufs, std::size_t n);

}  // namespace hlscache
