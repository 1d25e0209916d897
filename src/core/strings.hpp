// Small string helpers for HTTP and config text: ASCII case-insensitive equality
// (header names, tokens, units) and trimming of surrounding white space.
#pragma once

#include <strings.h>

#include <string_view>

namespace hlscache {

inline bool iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

inline constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace hlscache
