#include "cache/vary.hpp"

#include <algorithm>

#include "core/strings.hpp"

namespace hlscache {

bool forwarded_request_field(std::string_view name, const std::vector<std::string>& strip) {
  if (is_hop_by_hop(name)) return false;
  for (std::string_view n : {"Host", "Content-Length", "Expect", "If-Match", "If-None-Match", "If-Modified-Since",
                             "If-Unmodified-Since", "If-Range", "Range"})
    if (iequal(name, n)) return false;
  for (const auto& s : strip)
    if (iequal(name, s)) return false;
  return true;
}

std::vector<std::string> forwarded_vary(const std::vector<std::string>& names, const std::vector<std::string>& strip) {
  std::vector<std::string> out;
  for (const auto& n : names)
    if (forwarded_request_field(n, strip)) out.push_back(n);
  return out;
}

std::string vary_values(const std::vector<std::string>& names, const std::vector<Header>& request) {
  std::string out;
  for (const auto& name : names) {
    out.append(name);
    auto value = combined_field(request, name);
    if (!value) {
      out.append("\x01\x02");  // absent: matches only absent (RFC 9111 §4.1)
      continue;
    }
    out.push_back('=');
    bool first = true;
    for_each_member(*value, [&](std::string_view m) {
      if (!first) out.push_back(',');
      out.append(m);
      first = false;
    });
    out.push_back('\x02');
  }
  return out;
}

std::string variant_key(std::string_view key, std::string_view values) {
  std::string k;
  k.reserve(key.size() + 1 + values.size());
  k.append(key).push_back('\n');
  k.append(values);
  return k;
}

ObjectPtr make_vary_marker(const Object* previous, const std::vector<std::string>& names, const std::string& values,
                           TimePoint variant_expires, std::size_t max_variants, std::vector<std::string>& evicted) {
  auto m = std::make_shared<Object>();
  m->status = 0;
  m->vary = names;
  TimePoint until = variant_expires;
  if (previous && previous->is_vary_marker() && previous->vary == names) {
    m->variants = previous->variants;
    until = std::max(until, previous->fresh_until);
  }
  std::erase(m->variants, values);
  m->variants.push_back(values);
  while (m->variants.size() > std::max<std::size_t>(1, max_variants)) {
    evicted.push_back(std::move(m->variants.front()));
    m->variants.erase(m->variants.begin());
  }
  m->fresh_until = m->stale_until = m->keep_until = until;
  return m;
}

}  // namespace hlscache
