#include "cache/cache_key.hpp"

namespace hlscache {

std::string normalize_cache_key(std::string_view target, const std::vector<std::string>& ignore) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string key(target.substr(0, q));
  std::string_view query = target.substr(q + 1);
  bool first = true;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    std::string_view name = param.substr(0, param.find('='));
    bool drop = param.empty();
    for (const auto& ig : ignore)
      if (name == ig) drop = true;
    if (!drop) {
      key += first ? '?' : '&';
      key += param;
      first = false;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return key;
}

}  // namespace hlscache
