// The cache key of a request target: path?query with the configured parameters
// (cache.key_ignore_params: viewer tokens, session ids) removed, the order of the
// rest kept — so every viewer of a segment shares one key while the upstream
// request still carries each viewer's own target.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hlscache {

std::string normalize_cache_key(std::string_view target, const std::vector<std::string>& ignore_params);

}  // namespace hlscache
