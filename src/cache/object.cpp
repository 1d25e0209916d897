#include "cache/object.hpp"

#include <strings.h>

namespace hlscache {

std::string_view Object::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), name.size()) == 0) return v;
  return {};
}

std::string Object::body_string() const {
  std::string out;
  out.reserve(body_size);
  for (const auto& c : body) out.append(c.view());
  return out;
}

}  // namespace hlscache
