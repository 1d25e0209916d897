// Helpers for the cache tests: objects with an exact charge, fixed instants,
// and same-length keys (so equal objects cost exactly the same).
#pragma once

#include <stdexcept>
#include <string>

#include <cassert>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "cache/object.hpp"
#include "core/chunk.hpp"
#include "core/clock.hpp"

namespace hlscache::test {

using namespace std::chrono_literals;

inline const TimePoint t0 = TimePoint{} + std::chrono::hours(1);

inline std::string key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%05d", i);
  return buf;
}
inline constexpr std::size_t kKeySize = 6;  // key(i) for i < 100000

// An object whose Object::charge(key_size) is exactly `charge` (one body chunk
// sized to make up the difference). Its etag records `tag`, to check identity.
inline ObjectPtr make_object(std::uint64_t charge, std::string tag = {}, TimePoint fresh_until = t0 + 1h,
                             TimePoint stale_until = t0 + 2h, std::size_t key_size = kKeySize) {
  auto o = std::make_shared<Object>();
  o->etag = std::move(tag);
  o->fresh_until = fresh_until;
  o->stale_until = stale_until;
  o->body.push_back(Chunk{});
  const std::uint64_t base = o->charge(key_size);
  if (charge < base)  // (an assert vanishes under NDEBUG and the subtraction below would wrap)
    throw std::invalid_argument("make_object: charge " + std::to_string(charge) + " is below the minimum " +
                                std::to_string(base));
  o->body[0] = Chunk::allocate(charge - base);
  o->body_size = 0;
  return o;
}

// The smallest charge make_object() can produce for a key of kKeySize.
inline std::uint64_t min_charge() {
  Object o;
  o.body.push_back(Chunk{});
  return o.charge(kKeySize);
}

}  // namespace hlscache::test
