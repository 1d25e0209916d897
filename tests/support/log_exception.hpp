// The completion handler the fake origins give every co_spawn: an exception that ends a
// connection or the accept loop is printed, not dropped (they do not link hlscache's
// core, whose log_escape also counts it).
#pragma once

#include <cstdio>
#include <exception>

namespace hlscache::test {

// A handler for co_spawn that prints an escaped exception under `who`'s name.
inline auto log_exception(const char* who) {
  return [who](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::fprintf(stderr, "%s: connection ended by exception: %s\n", who, x.what());
    } catch (...) {
      std::fprintf(stderr, "%s: connection ended by unknown exception\n", who);
    }
  };
}

}  // namespace hlscache::test
