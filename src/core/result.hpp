// Result<T>: errors as values on the data path (docs/design.md, style rule 1).
// An Error records where it came from (upstream, downstream, internal, config),
// what happened, and whether retrying the same request may succeed.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace hlscache {

enum class ErrorSource { internal, upstream, downstream, config };

enum class Errc {
  ok = 0,
  invalid_argument,  // a value that cannot be parsed or is out of range
  not_found,
  timeout,           // a deadline passed
  connect_failed,
  protocol,          // malformed bytes from a peer
  truncated,         // a body ended before its declared length
  too_large,         // over a configured bound
  overloaded,        // a queue or table is at its bound
  cancelled,
  upstream_status,   // the upstream answered with an error status (5xx)
  io,
};

const char* to_string(Errc e) noexcept;
const char* to_string(ErrorSource s) noexcept;

struct Error {
  ErrorSource source = ErrorSource::internal;
  Errc code = Errc::ok;
  bool retryable = false;
  std::string message;

  static Error make(ErrorSource s, Errc c, std::string msg, bool retryable = false) {
    return Error{s, c, retryable, std::move(msg)};
  }
  std::string describe() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error err) : v_(std::in_place_index<1>, std::move(err)) {}   // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Ok {};
using Status = Result<Ok>;

}  // namespace hlscache
