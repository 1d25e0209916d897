#include "http/body_writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <type_traits>

#include "core/page_store.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxIovecs = 64;  // per sendmsg between page ranges

// Asio's transfer_all caps every writev at 64 KiB (17 syscalls for a 1 MiB segment);
// offer the kernel the whole gather list each time instead.
std::size_t whole_writes(const boost::system::error_code& ec, std::size_t /*transferred*/) {
  return ec ? 0 : std::size_t{1} << 30;
}

// The page-store file offset of a buffer worth a sendfile (cache.sendfile); smaller
// pieces are copied with the memory around them.
std::optional<std::uint64_t> page_range(const asio::const_buffer& b, const PageStore& store) {
  if (b.size() < PageStore::kMinChunk) return std::nullopt;
  return store.offset_of(b.data(), b.size());
}

bool has_page_range(const std::vector<asio::const_buffer>& bufs, const PageStore& store) {
  return std::any_of(bufs.begin(), bufs.end(), [&](const auto& b) { return page_range(b, store).has_value(); });
}

}  // namespace

bool drop_written(std::vector<asio::const_buffer>& bufs, std::size_t n) {
  std::size_t whole = 0;
  while (whole < bufs.size() && n >= bufs[whole].size()) n -= bufs[whole++].size();
  bufs.erase(bufs.begin(), bufs.begin() + static_cast<std::ptrdiff_t>(whole));
  if (bufs.empty()) return true;
  bufs.front() += n;
  return false;
}

template <class Stream>
asio::awaitable<bool> BodyWriter<Stream>::write(std::vector<asio::const_buffer>& bufs) {
  if constexpr (std::is_same_v<Stream, TcpStream>) {
    // installed(), not current(): a connection keeps the cache.sendfile it started with.
    if (const PageStore* store = PageStore::installed(); store && sendfile_ && has_page_range(bufs, *store))
      co_return co_await write_with_sendfile(bufs, *store);
    // Clear TCP: write what the socket takes now (it is in non-blocking mode), and only
    // suspend for what it does not — a 4 KiB hit then costs no trip through the
    // scheduler for its write.
    beast::error_code ec;
    const std::size_t n = lowest_socket(stream_).write_some(bufs, ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again && ec != asio::error::interrupted) {
      bufs.clear();
      co_return false;
    }
    if (drop_written(bufs, ec ? 0 : n)) co_return true;
  }
  if (deadline_) deadline_->set(send_timeout_);
  auto [ec, n] = co_await asio::async_write(stream_, bufs, whole_writes, kTuple);
  (void)n;
  if (deadline_) deadline_->clear();
  bufs.clear();
  co_return !ec;
}

// Clear TCP with body ranges in the page store: memory runs (the head, chunk or frame
// headers, heap chunks) go with sendmsg(MSG_MORE), so they leave in the same segments
// as the pages after them; page ranges (adjacent ones merged) go with sendfile, which
// hands the pages to the socket without copying them. Non-blocking throughout: only
// what the socket does not take waits, under the send deadline.
template <class Stream>
asio::awaitable<bool> BodyWriter<Stream>::write_with_sendfile(std::vector<asio::const_buffer>& bufs,
                                                              const PageStore& store) {
  auto& socket = lowest_socket(stream_);
  const int fd = socket.native_handle();
  bool waited = false;
  bool ok = true;
  // A cursor over bufs (an HTTP/2 batch has hundreds: no erasing from the front).
  std::size_t first = 0;
  auto advance = [&](std::size_t n) {
    while (n > 0) {
      if (n >= bufs[first].size()) {
        n -= bufs[first++].size();
      } else {
        bufs[first] += n;
        n = 0;
      }
    }
  };
  while (first < bufs.size()) {
    if (bufs[first].size() == 0) {
      ++first;
      continue;
    }
    ssize_t n = 0;
    bool from_pages = false;
    if (const auto front = page_range(bufs[first], store)) {
      std::size_t len = bufs[first].size();
      const char* end = static_cast<const char*>(bufs[first].data()) + len;
      for (std::size_t i = first + 1;
           i < bufs.size() && bufs[i].data() == end && store.offset_of(bufs[i].data(), bufs[i].size()); ++i) {
        len += bufs[i].size();
        end += bufs[i].size();
      }
      off_t off = static_cast<off_t>(*front);
      n = ::sendfile(fd, store.fd(), &off, len);
      from_pages = true;
    } else {
      iovec iov[kMaxIovecs];
      std::size_t k = 0;
      for (; first + k < bufs.size() && k < kMaxIovecs; ++k) {
        const auto& b = bufs[first + k];
        if (page_range(b, store)) break;
        iov[k] = {const_cast<void*>(b.data()), b.size()};
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = k;
      n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | (first + k < bufs.size() ? MSG_MORE : 0));
    }
    if (n > 0) {
      if (from_pages) metrics_.bytes_sendfile.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      advance(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      ok = false;
      break;
    }
    if (!waited && deadline_) deadline_->set(send_timeout_);
    waited = true;
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_write, kTuple);
    if (ec || (deadline_ && deadline_->expired())) {
      ok = false;
      break;
    }
  }
  if (waited && deadline_) deadline_->clear();
  bufs.clear();
  co_return ok;
}

template class BodyWriter<TcpStream>;
template class BodyWriter<TlsStream>;

}  // namespace hlscache
