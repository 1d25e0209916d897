#include "support/http_client.hpp"
#include "core/strings.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hlscache::test {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxHead = 1 << 20;



int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// Parses the status line and header fields of `head` (without the final CRLF CRLF).
bool parse_head(std::string_view head, HttpResponse& r) {
  auto eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  if (line.substr(0, 5) != "HTTP/" || line.size() < 12 || line[8] != ' ') return false;
  r.version = std::string(line.substr(0, 8));
  r.status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    r.status = r.status * 10 + (line[i] - '0');
  }
  r.reason = line.size() > 13 ? std::string(line.substr(13)) : std::string();
  std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view field = head.substr(pos, end - pos);
    auto colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    r.headers.emplace_back(std::string(field.substr(0, colon)), std::string(trim(field.substr(colon + 1))));
    pos = end + 2;
  }
  return true;
}

// Tries to decode a chunked body starting at `pos` in `in`. Returns the position just
// past the body (and trailers) or npos if more bytes are needed; sets *bad on garbage.
std::size_t parse_chunked(const std::string& in, std::size_t pos, std::string& body, bool* bad) {
  body.clear();
  for (;;) {
    auto eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return std::string::npos;
    std::string size_text = in.substr(pos, eol - pos);
    if (auto semi = size_text.find(';'); semi != std::string::npos) size_text.resize(semi);
    char* end = nullptr;
    errno = 0;
    unsigned long long size = std::strtoull(size_text.c_str(), &end, 16);
    if (size_text.empty() || errno || *end != '\0') {
      *bad = true;
      return std::string::npos;
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer fields, then an empty line.
      for (;;) {
        auto t = in.find("\r\n", pos);
        if (t == std::string::npos) return std::string::npos;
        bool empty = t == pos;
        pos = t + 2;
        if (empty) return pos;
      }
    }
    if (in.size() < pos + size + 2) return std::string::npos;
    body.append(in, pos, size);
    if (in.compare(pos + size, 2, "\r\n") != 0) {
      *bad = true;
      return std::string::npos;
    }
    pos += size + 2;
  }
}

}  // namespace

const char* to_string(Outcome o) noexcept {
  switch (o) {
    case Outcome::response: return "response";
    case Outcome::closed: return "closed by peer";
    case Outcome::reset: return "reset by peer";
    case Outcome::timeout: return "no response in time";
    case Outcome::malformed: return "malformed response";
    case Outcome::connect_failed: return "connect failed";
  }
  return "?";
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequal(k, name)) return v;
  return std::nullopt;
}

std::size_t HttpResponse::header_count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& [k, v] : headers)
    if (iequal(k, name)) ++n;
  return n;
}

std::string HttpResponse::describe() const {
  std::string s = to_string(outcome);
  if (outcome == Outcome::response) s += " " + std::to_string(status);
  std::string shown = received.substr(0, 600);
  return s + "; received " + std::to_string(received.size()) + " bytes:\n" + shown;
}

Connection::Connection(Connection&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), in_(std::move(o.in_)), eof_(o.eof_), error_(std::move(o.error_)) {}

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    in_ = std::move(o.in_);
    eof_ = o.eof_;
    error_ = std::move(o.error_);
  }
  return *this;
}

Connection::~Connection() { close(); }

void Connection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Connection::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

Connection Connection::open(std::uint16_t port, Millis timeout, const char* from) {
  Connection c;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    c.error_ = std::string("socket: ") + std::strerror(errno);
    return c;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (from) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (::inet_pton(AF_INET, from, &src.sin_addr) != 1 || ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      c.error_ = std::string("bind ") + from + ": " + std::strerror(errno);
      ::close(fd);
      return c;
    }
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err ? -1 : 0;
      errno = err;
    } else {
      rc = -1;
      errno = ETIMEDOUT;
    }
  }
  if (rc != 0) {
    c.error_ = "connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return c;
  }
  c.fd_ = fd;
  return c;
}

bool Connection::send(std::string_view bytes, Millis timeout) {
  if (fd_ < 0) return false;
  auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
        error_ = "send: deadline passed";
        return false;
      }
      continue;
    }
    error_ = std::string("send: ") + std::strerror(errno);
    return false;
  }
  return true;
}

Connection::Fill Connection::fill(Clock::time_point deadline) {
  if (fd_ < 0 || eof_) return Fill::eof;
  for (;;) {
    char buf[64 * 1024];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      return Fill::data;
    }
    if (n == 0) {
      eof_ = true;
      return Fill::eof;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd p{fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, remaining_ms(deadline));
      if (rc == 0) return Fill::timeout;
      if (rc < 0 && errno != EINTR) return Fill::reset;
      continue;
    }
    error_ = std::string("recv: ") + std::strerror(errno);
    eof_ = true;
    return Fill::reset;
  }
}

HttpResponse Connection::read_response(Millis timeout, bool bodyless) {
  const auto deadline = Clock::now() + timeout;
  std::vector<HttpResponse::Interim> interim;
  for (;;) {
    HttpResponse r = read_one(deadline, bodyless);
    if (!r.ok() || r.status / 100 != 1 || r.status == 101) {
      r.interim = std::move(interim);
      return r;
    }
    interim.push_back({r.status, std::move(r.headers)});
  }
}

HttpResponse Connection::read_one(Clock::time_point deadline, bool bodyless) {
  HttpResponse r;
  auto fail = [&](Fill f) {
    r.outcome = f == Fill::eof ? Outcome::closed : f == Fill::reset ? Outcome::reset : Outcome::timeout;
    r.received = in_;
    return r;
  };
  if (fd_ < 0) {
    r.outcome = Outcome::closed;
    return r;
  }
  std::size_t head_end;
  while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
    if (in_.size() > kMaxHead) {
      r.outcome = Outcome::malformed;
      r.received = in_;
      return r;
    }
    if (auto f = fill(deadline); f != Fill::data) return fail(f);
  }
  if (!parse_head(std::string_view(in_).substr(0, head_end), r)) {
    r.outcome = Outcome::malformed;
    r.received = in_;
    return r;
  }
  std::size_t body_start = head_end + 4;
  std::size_t end = std::string::npos;
  auto te = r.header("Transfer-Encoding");
  auto cl = r.header("Content-Length");
  if (bodyless || r.status / 100 == 1 || r.status == 204 || r.status == 304) {
    end = body_start;
  } else if (te && te->find("chunked") != std::string::npos) {
    for (;;) {
      bool bad = false;
      end = parse_chunked(in_, body_start, r.body, &bad);
      if (bad) {
        r.outcome = Outcome::malformed;
        r.received = in_;
        return r;
      }
      if (end != std::string::npos) break;
      if (auto f = fill(deadline); f != Fill::data) return fail(f);
    }
  } else if (cl) {
    char* e = nullptr;
    unsigned long long len = std::strtoull(cl->c_str(), &e, 10);
    if (cl->empty() || *e != '\0') {
      r.outcome = Outcome::malformed;
      r.received = in_;
      return r;
    }
    while (in_.size() < body_start + len)
      if (auto f = fill(deadline); f != Fill::data) return fail(f);
    r.body = in_.substr(body_start, len);
    end = body_start + len;
  } else {
    // Close-delimited body.
    for (;;) {
      auto f = fill(deadline);
      if (f == Fill::eof) break;
      if (f != Fill::data) return fail(f);
    }
    r.body = in_.substr(body_start);
    end = in_.size();
  }
  r.received = in_.substr(0, end);
  in_.erase(0, end);
  r.outcome = Outcome::response;
  return r;
}

HttpResponse Connection::roundtrip(std::string_view request, Millis timeout, bool bodyless) {
  if (!send(request, timeout)) {
    // The peer may already have answered (e.g. an early error) before closing.
    auto r = read_response(200ms, bodyless);
    if (r.ok()) return r;
    r.outcome = fd_ < 0 ? Outcome::connect_failed : Outcome::reset;
    return r;
  }
  return read_response(timeout, bodyless);
}

bool Connection::wait_closed(Millis timeout, std::string* received) {
  auto deadline = Clock::now() + timeout;
  if (received) received->append(in_);
  in_.clear();
  for (;;) {
    auto f = fill(deadline);
    if (f == Fill::data) {
      if (received) received->append(in_);
      in_.clear();
      continue;
    }
    return f == Fill::eof || f == Fill::reset;
  }
}

bool Connection::idle_and_open() {
  if (fd_ < 0 || eof_ || !in_.empty()) return false;
  pollfd p{fd_, POLLIN, 0};
  int rc = ::poll(&p, 1, 0);
  if (rc == 0) return true;
  char c;
  ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

SilentListener::SilentListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(fd_, 64) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return;
  port_ = ntohs(sa.sin_port);
}

SilentListener::~SilentListener() {
  if (fd_ >= 0) ::close(fd_);
}

std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string s;
  s.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (const auto& [k, v] : headers) s.append(k).append(": ").append(v).append("\r\n");
  s.append("\r\n");
  return s;
}

HttpResponse send_raw(std::uint16_t port, std::string_view bytes, Millis timeout) {
  auto c = Connection::open(port, timeout);
  if (!c.connected()) {
    HttpResponse r;
    r.outcome = Outcome::connect_failed;
    r.received = c.error();
    return r;
  }
  return c.roundtrip(bytes, timeout);
}

HttpResponse get(std::uint16_t port, std::string_view target,
                 const std::vector<std::pair<std::string, std::string>>& headers, Millis timeout) {
  return send_raw(port, make_request("GET", target, headers), timeout);
}

HttpResponse head(std::uint16_t port, std::string_view target, Millis timeout) {
  auto c = Connection::open(port, timeout);
  if (!c.connected()) {
    HttpResponse r;
    r.outcome = Outcome::connect_failed;
    r.received = c.error();
    return r;
  }
  return c.roundtrip(make_request("HEAD", target), timeout, /*bodyless=*/true);
}

std::optional<double> metric_value(const std::string& exposition, std::string_view name, std::string_view labels) {
  std::string_view text(exposition);
  while (!text.empty()) {
    auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.empty() || line.front() == '#' || line.substr(0, name.size()) != name) continue;
    std::string_view rest = line.substr(name.size());
    if (labels.empty()) {
      if (rest.empty() || rest.front() != ' ') continue;
    } else {
      if (rest.size() < labels.size() + 3 || rest.front() != '{' || rest.substr(1, labels.size()) != labels ||
          rest[labels.size() + 1] != '}')
        continue;
      rest = rest.substr(labels.size() + 2);
    }
    std::string value(trim(rest));
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0') return std::nullopt;
    return v;
  }
  return std::nullopt;
}

}  // namespace hlscache::test
