#include "hlsload/target.hpp"

#include <charconv>

namespace hlsload {

std::variant<Target, std::string> parse_target(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, 8) == "https://") return std::string("https is not supported (plain http:// only)");
  if (url.substr(0, scheme.size()) != scheme) return std::string("the URL must begin with http://");
  Target t;
  t.url = std::string(url);
  std::string_view rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) return std::string("user information in the URL is not supported");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::string("unterminated [IPv6] host");
    t.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::string("junk after the [IPv6] host");
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (t.host.empty()) return std::string("no host in the URL");
  if (port.empty()) {
    t.port = "80";
  } else {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || p != port.data() + port.size() || v == 0 || v > 65535)
      return std::string("invalid port '") + std::string(port) + "'";
    t.port = std::string(port);
  }
  return t;
}

bool is_loopback(const boost::asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();
  const auto v6 = a.to_v6();
  if (v6.is_loopback()) return true;
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).is_loopback();
  return false;
}

}  // namespace hlsload
