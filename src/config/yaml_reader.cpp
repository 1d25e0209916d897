#include "config/yaml_reader.hpp"

#include <charconv>
#include <fmt/format.h>

namespace hlscache::config_detail {

namespace {

// Keys and values quoted in an error come from the file and may hold line breaks or other
// control characters; escaped, each error stays one line that names its place.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

void YamlReader::error(const YAML::Mark& at, std::string_view path, std::string_view what) {
  if (at.is_null())
    errors_.push_back(fmt::format("{}: {}: {}", file_, printable(path), printable(what)));
  else
    errors_.push_back(fmt::format("{}:{}:{}: {}: {}", file_, at.line + 1, at.column + 1, printable(path), printable(what)));
}

void YamlReader::error(const YAML::Node& at, std::string_view path, std::string_view what) {
  error(at.Mark(), path, what);
}

void YamlReader::map(const YAML::Node& node, const std::string& path,
                     const std::map<std::string, FieldFn, std::less<>>& fields) {
  if (!node.IsMap()) {
    error(node, path, "must be a mapping of keys to values");
    return;
  }
  for (const auto& kv : node) {
    std::string key;
    if (!kv.first.IsScalar()) {
      error(kv.first, path, "keys must be plain names");
      continue;
    }
    key = kv.first.Scalar();
    std::string child = path.empty() ? key : path + "." + key;
    auto it = fields.find(key);
    if (it == fields.end()) {
      std::string known;
      for (const auto& [name, fn] : fields) known += (known.empty() ? "" : ", ") + name;
      error(kv.first, child, fmt::format("unknown key (known here: {})", known));
      continue;
    }
    it->second(kv.second, child);
  }
}

void YamlReader::seq(const YAML::Node& node, const std::string& path, const FieldFn& fn) {
  if (!node.IsSequence()) {
    error(node, path, "must be a list");
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) fn(node[i], fmt::format("{}[{}]", path, i));
}

bool YamlReader::scalar(const YAML::Node& n, const std::string& path, std::string& text) {
  if (!n.IsScalar()) {
    error(n, path, n.IsNull() ? "has no value" : "must be a single value, not a list or mapping");
    return false;
  }
  text = n.Scalar();
  return true;
}

void YamlReader::read(const YAML::Node& n, const std::string& path, std::string& out) {
  std::string s;
  if (scalar(n, path, s)) out = s;
}

void YamlReader::read(const YAML::Node& n, const std::string& path, bool& out) {
  std::string s;
  if (!scalar(n, path, s)) return;
  if (s == "true" || s == "yes" || s == "on") out = true;
  else if (s == "false" || s == "no" || s == "off") out = false;
  else error(n, path, fmt::format("'{}' is not a boolean (true or false)", s));
}

void YamlReader::read(const YAML::Node& n, const std::string& path, double& out, double min, double max) {
  std::string s;
  if (!scalar(n, path, s)) return;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return error(n, path, fmt::format("'{}' is not a number", s));
  if (v < min || v > max) return error(n, path, fmt::format("{} is out of range [{}, {}]", v, min, max));
  out = v;
}

void YamlReader::read_uint(const YAML::Node& n, const std::string& path, std::uint64_t& out, std::uint64_t min,
                           std::uint64_t max) {
  std::string s;
  if (!scalar(n, path, s)) return;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size())
    return error(n, path, fmt::format("'{}' is not a whole number", s));
  if (v < min || v > max) return error(n, path, fmt::format("{} is out of range [{}, {}]", v, min, max));
  out = v;
}

void YamlReader::read_bytes(const YAML::Node& n, const std::string& path, std::uint64_t& out, std::uint64_t min,
                            std::uint64_t max) {
  std::string s;
  if (!scalar(n, path, s)) return;
  auto r = parse_byte_size(s);
  if (!r) return error(n, path, r.error().message);
  if (*r < min || *r > max)
    return error(n, path, fmt::format("{} is out of range [{}, {}]", s, format_byte_size(min), format_byte_size(max)));
  out = *r;
}

void YamlReader::read_duration(const YAML::Node& n, const std::string& path, Millis& out, Millis min, Millis max) {
  std::string s;
  if (!scalar(n, path, s)) return;
  auto r = parse_duration(s);
  if (!r) return error(n, path, r.error().message);
  if (*r < min || *r > max)
    return error(n, path, fmt::format("{} is out of range [{}, {}]", s, format_duration(min), format_duration(max)));
  out = *r;
}

Result<HostPort> parse_hostport(std::string_view text) {
  auto bad = [&](const char* why) {
    return Error::make(ErrorSource::config, Errc::invalid_argument,
                       fmt::format("'{}' is not host:port ({})", text, why));
  };
  HostPort hp;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("IPv6 form is [addr]:port");
    hp.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    hp.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) return bad("write IPv6 addresses in brackets");
  }
  if (hp.host.empty()) return bad("no host");
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (ec != std::errc{} || p != port.data() + port.size() || port.empty() || v > 65535) return bad("bad port");
  hp.port = static_cast<std::uint16_t>(v);
  return hp;
}

void YamlReader::read_hostport(const YAML::Node& n, const std::string& path, HostPort& out) {
  std::string s;
  if (!scalar(n, path, s)) return;
  auto r = parse_hostport(s);
  if (!r) return error(n, path, r.error().message);
  out = *r;
}

void YamlReader::read_strings(const YAML::Node& n, const std::string& path, std::vector<std::string>& out) {
  out.clear();
  seq(n, path, [&](const YAML::Node& e, const std::string& p) {
    std::string s;
    read(e, p, s);
    out.push_back(s);
  });
}

}  // namespace hlscache::config_detail
