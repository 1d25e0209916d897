#include "http/interim.hpp"

#include <string_view>

#include "core/http_fields.hpp"
#include "core/strings.hpp"

namespace hlscache {

namespace {

// Whether a field of an interim response is passed on.
bool passes(const Header& f, std::string_view connection) {
  const auto& [name, value] = f;
  if (!is_token(name) || !is_safe_field_value(value)) return false;
  return !is_hop_by_hop(name, connection) && !iequal(name, "Content-Length");
}

const char* interim_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 102: return "Processing";
    case 103: return "Early Hints";
    default: return "";
  }
}

}  // namespace

bool forwardable_interim(int status) { return status >= 100 && status <= 199 && status != 101; }

void serialize_h1_interim(std::string& out, int status, const std::vector<Header>& fields) {
  const std::string connection = combined_field(fields, "Connection").value_or("");
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(interim_reason(status)).append("\r\n");
  for (const auto& f : fields) {
    if (!passes(f, connection)) continue;
    out.append(f.first).append(": ").append(f.second).append("\r\n");
  }
  out.append("\r\n");
}

void build_h2_interim_headers(int status, const std::vector<Header>& fields,
                              std::vector<std::pair<std::string, std::string>>& out) {
  const std::string connection = combined_field(fields, "Connection").value_or("");
  out.clear();
  out.emplace_back(":status", std::to_string(status));
  for (const auto& f : fields) {
    if (!passes(f, connection)) continue;
    std::string name = f.first;
    for (auto& c : name)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.emplace_back(std::move(name), f.second);
  }
}

}  // namespace hlscache
