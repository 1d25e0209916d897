// A scanner for the common HTTP/1.1 request: GET or HEAD, origin-form target, no body,
// the whole head in the bytes at hand. It takes those without Beast's parser (and
// without building its field container) — a 4 KiB hit spent ~9 % of its
// instructions there. Anything else — another method, a Content-Length or
// Transfer-Encoding, obs-fold, a bare LF, a head split across reads, a byte RFC 9112
// does not allow, an HTTP/1.1 head without Host, two Hosts or an invalid one — is
// `fallback`: the caller parses the same bytes with Beast and h1_request_rules, which
// answer every error. The scanner never accepts what that path would reject.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hlscache {

struct SimpleRequestHead {
  bool head_method = false;  // HEAD (else GET)
  std::string_view method, target;
  int version = 11;          // 10 or 11
  bool keep_alive = true;    // by version and Connection tokens
  std::vector<std::pair<std::string_view, std::string_view>> fields;  // as sent, values without OWS
  std::size_t size = 0;      // bytes of the head, final CRLF included
  std::string valid_host;    // the last Host value found valid: a connection's next requests repeat it
};

enum class ScanResult { ok, fallback };

// Views in `out` point into `bytes`. `max_bytes` bounds the head (limits.max_header_bytes).
ScanResult scan_simple_request_head(std::string_view bytes, std::size_t max_bytes, SimpleRequestHead& out);

}  // namespace hlscache
