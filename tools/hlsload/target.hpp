// Target: where hlsload sends its viewers — an http://host[:port]/path URL, parsed,
// and the rule that keeps a load test on this machine: every address the host
// resolves to must be loopback (127.0.0.0/8, ::1, ::ffff:127.x) unless --allow-remote.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace hlsload {

struct Target {
  std::string url;   // as given
  std::string host;  // without brackets
  std::string port;  // "80" by default
  std::string path;  // begins with '/', query kept
};

// The target, or why the URL is not one hlsload can use (only plain http://).
std::variant<Target, std::string> parse_target(std::string_view url);

bool is_loopback(const boost::asio::ip::address& a);

}  // namespace hlsload
