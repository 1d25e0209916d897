#include "cache/object.hpp"

#include <strings.h>

namespace hlscache {

std::string_view Object::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), name.size()) == 0) return v;
  return {};
}

void Object::serialize_headers() {
  wire_headers.clear();
  has_date = false;
  for (const auto& [k, v] : headers) {
    if (k.size() == 4 && ::strncasecmp(k.data(), "Date", 4) == 0) has_date = true;
    if (k.size() == 3 && ::strncasecmp(k.data(), "Via", 3) == 0) {
      upstream_via = v;
    } else if (k.size() == 12 && ::strncasecmp(k.data(), "Cache-Status", 12) == 0) {
      upstream_cache_status = v;
    } else {
      wire_headers.append(k).append(": ").append(v).append("\r\n");
    }
  }
}

std::string Object::body_string() const {
  std::string out;
  out.reserve(body_size);
  for (const auto& c : body) out.append(c.view());
  return out;
}

}  // namespace hlscache
