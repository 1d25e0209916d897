// What every fuzz target shares: the libFuzzer entry point's signature, a check that
// aborts with a message (so a broken invariant is a crash under libFuzzer and a failed
// test in the GCC regression runner), and a small reader that takes typed values off
// the front of the input (libFuzzer's FuzzedDataProvider is a clang-only header; the
// targets also build with GCC as regression runners, tests/fuzz/regress_main.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace hlscache::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  // One byte (0 when the input is used up).
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  // A value in [0, bound) from one or two bytes (bound <= 65536).
  std::size_t below(std::size_t bound) {
    std::size_t v = byte();
    if (bound > 256) v = (v << 8) | byte();
    return bound == 0 ? 0 : v % bound;
  }
  // Up to the next '\n' (not included), or the rest: the way targets cut text inputs into fields.
  std::string_view line() {
    std::size_t i = 0;
    while (i < n_ && p_[i] != '\n') ++i;
    std::string_view s(reinterpret_cast<const char*>(p_), i);
    const std::size_t used = i < n_ ? i + 1 : i;
    p_ += used;
    n_ -= used;
    return s;
  }
  std::string_view rest() {
    std::string_view s(reinterpret_cast<const char*>(p_), n_);
    p_ += n_;
    n_ = 0;
    return s;
  }
  std::size_t size() const { return n_; }
  const std::uint8_t* data() const { return p_; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

}  // namespace hlscache::fuzz
