// Boost's assertions in the fuzz targets that run Beast (BOOST_ENABLE_ASSERT_HANDLER is
// defined for them in CMakeLists.txt): every BOOST_ASSERT is checked, in the GCC
// regression runners too (which are built with NDEBUG), and a failed one aborts — except
// one known-false assertion of Beast 1.81, listed here with why. Include in one file per
// binary.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

inline bool known_false_assertion(const char* expr, const char* file) {
  // basic_parser::parse_chunk_header, re-entered after the last chunk while its trailer
  // arrives: the assertion assumes a CRLF of an earlier chunk precedes "0\r\n", so it
  // fails when the first chunk is the last one and 1 byte of the trailer is buffered
  // (n == 4). The code after it reads only what it has; release builds (NDEBUG) compile
  // the assertion out. Input: tests/fuzz/regressions/upstream_response/beast_assert_last_chunk_first.
  return std::strcmp(expr, "n >= 5") == 0 && std::strstr(file, "beast/http/impl/basic_parser.ipp") != nullptr;
}

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (known_false_assertion(expr, file)) return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion '%s' failed\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
  if (known_false_assertion(expr, file)) return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion '%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
