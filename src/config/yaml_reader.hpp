// YamlReader: typed reads from yaml-cpp nodes that never throw and never stop
// at the first problem: each bad value is recorded as "FILE:LINE:COL: key.path:
// what" (1-based line/column of the offending node) so an operator sees every
// mistake at once. Maps are walked key by key so unknown keys are reported too.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace hlscache::config_detail {

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Node& at, std::string_view path, std::string_view what);
  void error(const YAML::Mark& at, std::string_view path, std::string_view what);
  const std::vector<std::string>& errors() const { return errors_; }

  using FieldFn = std::function<void(const YAML::Node& value, const std::string& path)>;
  // Walks a mapping: each key must be in `fields`; its handler gets the value.
  void map(const YAML::Node& node, const std::string& path, const std::map<std::string, FieldFn, std::less<>>& fields);
  // Walks a sequence, calling fn(element, "path[i]").
  void seq(const YAML::Node& node, const std::string& path, const FieldFn& fn);

  void read(const YAML::Node& n, const std::string& path, std::string& out);
  void read(const YAML::Node& n, const std::string& path, bool& out);
  void read(const YAML::Node& n, const std::string& path, double& out, double min, double max);
  void read_uint(const YAML::Node& n, const std::string& path, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  template <class U>
  void read(const YAML::Node& n, const std::string& path, U& out, std::uint64_t min, std::uint64_t max) {
    std::uint64_t v = out;
    read_uint(n, path, v, min, max);
    out = static_cast<U>(v);
  }
  void read_bytes(const YAML::Node& n, const std::string& path, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  void read_duration(const YAML::Node& n, const std::string& path, Millis& out, Millis min, Millis max);
  void read_hostport(const YAML::Node& n, const std::string& path, HostPort& out);
  void read_strings(const YAML::Node& n, const std::string& path, std::vector<std::string>& out);

 private:
  bool scalar(const YAML::Node& n, const std::string& path, std::string& text);
  std::string file_;
  std::vector<std::string> errors_;
};

Result<HostPort> parse_hostport(std::string_view text);

}  // namespace hlscache::config_detail
