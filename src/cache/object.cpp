#include "cache/object.hpp"

#include "core/http_fields.hpp"
#include "core/strings.hpp"

namespace hlscache {

std::string_view Object::header(std::string_view name) const { return field_value(headers, name); }

void Object::serialize_headers() {
  wire_headers.clear();
  has_date = false;
  for (const auto& [k, v] : headers) {
    if (iequal(k, "Date")) has_date = true;
    if (iequal(k, "Via")) {
      upstream_via = v;
    } else if (iequal(k, "Cache-Status")) {
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
