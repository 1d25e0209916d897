// hlscache's version, from the CMake project version (HLSCACHE_VERSION).
#pragma once

namespace hlscache {
inline constexpr const char* kVersion = HLSCACHE_VERSION;
}  // namespace hlscache
