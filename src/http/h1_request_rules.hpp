// RFC 9112 request rules that Beast's parser leaves to us (it folds obs-fold lines,
// ignores transfer codings it does not know, takes any Host and absolute-form
// targets), shared by the h1 session's Beast path and the fast scanner so the two
// never disagree. Each check returns the answer RFC 9112 asks for (400, 501, 405)
// or nothing; the session answers it and closes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_fields.hpp"

namespace hlscache {

struct RequestError {
  int status = 0;  // 0: no problem
  std::string_view detail;
  explicit operator bool() const { return status != 0; }
};

// Transfer-Encoding (§6.1, §6.3, §7), every field line of it combined into one list
// (nullopt: no such field). Only plain `chunked` is taken. HTTP/1.0 with any
// Transfer-Encoding: 400 (faulty framing); chunked not the final coding, or applied
// twice: 400; another coding (gzip, identity, xchunked before chunked...): 501.
RequestError check_transfer_encoding(const std::optional<std::string>& combined, int version);

// uri-host [ ":" port ] (RFC 3986 §3.2.2, §3.2.3): an IP-literal in brackets (IPv6 or
// IPvFuture), or a reg-name (IPv4 is one) of unreserved, pct-encoded and sub-delims
// bytes; the port all digits. An empty reg-name is allowed (§3.2: "Host:" with an
// empty value) unless `need_host`.
bool valid_authority(std::string_view value, bool need_host = false);

// Host (§3.2): HTTP/1.1 needs exactly one field line; any version may have at most
// one, and its value must be a valid authority. Otherwise 400.
RequestError check_host(const std::vector<Header>& fields, int version);

// The request-target's form (§3.2): origin-form stays; absolute-form (http or https,
// case-insensitive, no userinfo, no fragment) becomes origin-form (path + query, an
// empty path "/") and its authority becomes the Host field (§3.2.2, §7.2), replacing
// one that disagrees; authority-form only with CONNECT (answered 405: we are no
// tunnel); asterisk-form only with OPTIONS. Anything else: 400.
RequestError normalize_target(std::string_view method, std::string& target, std::vector<Header>& fields);

// Obsolete line folding (§5.2): a field line that starts with SP or HTAB. Beast
// silently joins such lines into one value, so the raw head is checked before it is
// parsed. `unparsed` are the head bytes not yet consumed by the parser; `prev` the
// last byte it consumed (0 at the start). Stops at the empty line that ends the head.
bool has_obs_fold(std::string_view unparsed, char prev);

// A field name or value with CR, LF or NUL (never passed on: request fields are
// forwarded upstream). Both parsers refuse them already; this is the last check.
bool has_forbidden_bytes(const std::vector<Header>& fields);

}  // namespace hlscache
