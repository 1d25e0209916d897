#include "h2_test_util.hpp"

#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <thread>

namespace hlscache::test {

namespace h2 {

namespace {
void put32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
std::uint32_t get32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
// RFC 7541 §5.1 integer with an N-bit prefix; `first` carries the pattern bits above the prefix.
void hpack_int(std::string& out, std::uint8_t first, int prefix_bits, std::size_t v) {
  const std::size_t max = (1u << prefix_bits) - 1;
  if (v < max) {
    out.push_back(static_cast<char>(first | v));
    return;
  }
  out.push_back(static_cast<char>(first | max));
  v -= max;
  while (v >= 128) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
}  // namespace

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  std::string f;
  const auto n = static_cast<std::uint32_t>(payload.size());
  f.push_back(static_cast<char>((n >> 16) & 0xff));
  f.push_back(static_cast<char>((n >> 8) & 0xff));
  f.push_back(static_cast<char>(n & 0xff));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  put32(f, stream & 0x7fffffff);
  f.append(payload);
  return f;
}

std::string settings(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& values) {
  std::string p;
  for (auto [id, v] : values) {
    p.push_back(static_cast<char>(id >> 8));
    p.push_back(static_cast<char>(id & 0xff));
    put32(p, v);
  }
  return frame(kSettings, 0, 0, p);
}

std::string window_update(std::uint32_t stream, std::uint32_t increment) {
  std::string p;
  put32(p, increment);
  return frame(kWindowUpdate, 0, stream, p);
}

std::string rst_stream(std::uint32_t stream, std::uint32_t code) {
  std::string p;
  put32(p, code);
  return frame(kRstStream, 0, stream, p);
}

std::string hpack_literal(std::string_view name, std::string_view value) {
  std::string out;
  out.push_back(0x00);  // literal without indexing, new name
  hpack_int(out, 0x00, 7, name.size());
  out.append(name);
  hpack_int(out, 0x00, 7, value.size());
  out.append(value);
  return out;
}

std::string request_block(std::string_view path, const std::vector<std::pair<std::string, std::string>>& extra,
                          std::string_view method) {
  std::string b = hpack_literal(":method", method) + hpack_literal(":scheme", "http") + hpack_literal(":path", path) +
                  hpack_literal(":authority", "127.0.0.1");
  for (const auto& [k, v] : extra) b += hpack_literal(k, v);
  return b;
}

std::uint32_t Frame::goaway_error() const { return payload.size() >= 8 ? get32(payload, 4) : 0xffffffff; }

int Frame::status() const {
  for (const auto& [k, v] : fields)
    if (k == ":status") return std::atoi(v.c_str());
  return 0;
}

RawClient::~RawClient() {
  if (inflater_ != nullptr) nghttp2_hd_inflate_del(static_cast<nghttp2_hd_inflater*>(inflater_));
}

namespace {
// Decodes a HEADERS frame's block (no CONTINUATION: the daemon's blocks fit one frame).
void decode_headers(void*& inflater, Frame& f) {
  if (inflater == nullptr) {
    nghttp2_hd_inflater* in = nullptr;
    if (nghttp2_hd_inflate_new(&in) != 0) return;
    inflater = in;
  }
  auto* in = static_cast<nghttp2_hd_inflater*>(inflater);
  std::string_view block = f.payload;
  if (f.flags & 0x8) {  // PADDED
    const std::size_t pad = block.empty() ? 0 : static_cast<unsigned char>(block[0]);
    block.remove_prefix(1);
    block.remove_suffix(std::min(pad, block.size()));
  }
  if (f.flags & 0x20) block.remove_prefix(std::min<std::size_t>(5, block.size()));  // PRIORITY
  auto* p = reinterpret_cast<const std::uint8_t*>(block.data());
  std::size_t left = block.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const auto n = nghttp2_hd_inflate_hd2(in, &nv, &flags, p, left, 1);
    if (n < 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
    if (flags & NGHTTP2_HD_INFLATE_EMIT)
      f.fields.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                            std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(in);
      return;
    }
    if (n == 0 && left == 0) return;
  }
}
}  // namespace

bool RawClient::start(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& our_settings) {
  return connected() && send(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + settings(our_settings));
}

std::optional<Frame> RawClient::read_frame(Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (in_.size() >= 9) {
      std::size_t len = (static_cast<unsigned char>(in_[0]) << 16) | (static_cast<unsigned char>(in_[1]) << 8) |
                        static_cast<unsigned char>(in_[2]);
      if (in_.size() >= 9 + len) {
        Frame f;
        f.type = static_cast<std::uint8_t>(in_[3]);
        f.flags = static_cast<std::uint8_t>(in_[4]);
        f.stream = get32(in_, 5) & 0x7fffffff;
        f.payload = in_.substr(9, len);
        in_.erase(0, 9 + len);
        if (f.type == kHeaders) decode_headers(inflater_, f);
        // Acknowledge the server's SETTINGS as a real client would.
        if (f.type == kSettings && !(f.flags & kAck)) send(frame(kSettings, kAck, 0, {}));
        return f;
      }
    }
    if (closed_) return std::nullopt;
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd p{conn_.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[65536];
    ssize_t n = ::recv(conn_.fd(), buf, sizeof buf, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      closed_ = true;
      continue;
    }
    in_.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<Frame> RawClient::read_until(std::uint8_t type, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto f = read_frame(left);
    if (!f) return std::nullopt;
    if (f->type == type) return f;
  }
}

}  // namespace h2

bool make_certificate(const std::string& dir, const std::string& stem, const std::vector<std::string>& names) {
  std::string san = "subjectAltName=";
  for (std::size_t i = 0; i < names.size(); ++i) san += (i ? ",DNS:" : "DNS:") + names[i];
  auto r = run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=" + names.at(0), "-addext", san, "-keyout",
                        dir + "/" + stem + ".key", "-out", dir + "/" + stem + ".pem"},
                       std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0;
}

bool have_h2_tools() {
  static const bool ok = [] {
    auto curl = run_command({"curl", "--version"}, std::chrono::seconds(5));
    if (curl.exit_code != 0 || curl.out.find("HTTP2") == std::string::npos) return false;
    for (const char* tool : {"nghttp", "h2load"})
      if (run_command({tool, "--version"}, std::chrono::seconds(5)).exit_code != 0) return false;
    return run_command({"openssl", "version"}, std::chrono::seconds(5)).exit_code == 0;
  }();
  return ok;
}

void H2Test::SetUp() {
  cert_dir_ = make_temp_dir("hlscache-h2-");
  ASSERT_TRUE(make_certificate(cert_dir_, "a", {"localhost", "a.test"}));
  ASSERT_TRUE(make_certificate(cert_dir_, "b", {"b.test", "*.wild.test"}));
}

void H2Test::start(const std::string& http2, const std::string& timeouts, const std::string& limits) {
  std::string y = "role: edge\nthreads: 2\nserver_name: h2-it\n"
                  "listen:\n"
                  "  - {address: 127.0.0.1:0, http2: true}\n"
                  "  - address: 127.0.0.1:0\n"
                  "    http2: true\n"
                  "    tls:\n"
                  "      cert: " + cert_dir_ + "/a.pem\n"
                  "      key: " + cert_dir_ + "/a.key\n"
                  "      certificates: [{cert: " + cert_dir_ + "/b.pem, key: " + cert_dir_ + "/b.key}]\n"
                  "upstream: {hosts: [\"127.0.0.1:" + std::to_string(origin_.port()) + "\"]}\n"
                  "logging: {level: info}\n"
                  "timeouts: {drain: 3s" + (timeouts.empty() ? "" : ", " + timeouts) + "}\n";
  if (!http2.empty()) y += "http2: {" + http2 + "}\n";
  if (!limits.empty()) y += "limits: {" + limits + "}\n";
  daemon_ = Daemon::start(y);
  ASSERT_TRUE(daemon_.running()) << daemon_.error();
  port_ = daemon_.port(0);
  tls_port_ = daemon_.port(1);
}

void H2Test::TearDown() {
  if (daemon_.running()) {
    HttpResponse r;
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    do {
      r = get(port_, "/healthz", {}, 2s);
      if (r.ok() && r.status == 200) break;
      std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < deadline);
    EXPECT_TRUE(r.ok() && r.status == 200) << "daemon no longer healthy: " << r.describe() << "\nlog:\n"
                                           << daemon_.log();
    auto st = daemon_.stop(SIGTERM, 10s);
    EXPECT_TRUE(st.exited && st.code == 0) << st.describe() << "\nlog:\n" << daemon_.log();
  }
  if (!cert_dir_.empty()) remove_tree(cert_dir_);
}

}  // namespace hlscache::test
