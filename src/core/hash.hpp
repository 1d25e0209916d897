// 64-bit non-cryptographic hash of a byte string (cache keys -> shard, ring).
// A wyhash-style multiply-mix over 8-byte words: fast, well distributed, and
// stable across runs and hosts (consistent hashing needs every tier to agree).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace hlscache {

namespace detail {
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}
inline std::uint64_t read64(const unsigned char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
}  // namespace detail

inline std::uint64_t hash64(std::string_view s, std::uint64_t seed = 0) noexcept {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                          k2 = 0x8ebc6af09c88c6e3ull;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size();
  std::uint64_t h = seed ^ detail::mix(seed ^ k0, k1) ^ n;
  while (n >= 8) {
    h = detail::mix(h ^ detail::read64(p) ^ k1, k2 ^ h);
    p += 8;
    n -= 8;
  }
  std::uint64_t tail = 0;
  for (std::size_t i = 0; i < n; ++i) tail |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  h = detail::mix(h ^ tail ^ k2, k0 ^ (n + 1));
  return detail::mix(h, k1);
}

}  // namespace hlscache
