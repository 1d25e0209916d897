// Response: status, headers and one of three bodies — inline bytes (small,
// generated answers), a cached Object's chunks (zero-copy, optionally a byte
// range of it), or a BodyStream still being filled (a coalesced miss).
// Sessions add Date, Server, Content-Length/framing and Connection themselves.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cache/object.hpp"
#include "core/body_stream.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

struct ObjectBody {
  ObjectPtr object;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // bytes from offset
};

struct StreamBody {
  std::shared_ptr<BodyStream> stream;
  std::optional<std::uint64_t> length;  // known total (Content-Length) or chunked framing
};

// The lines a cache hit adds to its stored head (Age, Cache-Status, X-Cache, Via, and
// Vary / Accept-Ranges when they apply), kept as values and written by the session
// straight into its own head buffer, naming the server it names in `Server`: nothing
// is allocated per hit.
struct CacheLines {
  ObjectPtr stored;  // the object as stored (its gzip variant may be what is sent)
  TimePoint now{};
  CacheResult result = CacheResult::hit;
  bool vary = false, accept_ranges = false;
};
void append_cache_lines(std::string& out, const CacheLines& lines, std::string_view server);

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::variant<std::string, ObjectBody, StreamBody> body;
  // Header lines already in HTTP/1.1 form, sent before `headers`: a cached object's
  // stored block (valid while the ObjectBody holds the object) and this response's
  // own cache lines. The fast path for hits; `headers` stays the general form.
  std::string_view stored_wire;
  std::optional<CacheLines> cache_lines;
  bool close = false;       // close the connection after this response
  bool has_date = false;    // the headers carry the origin's Date: the session adds none (RFC 9110 §6.6.1)
  CacheResult cache = CacheResult::none;  // for logs and metrics
  double waited_ms = 0;     // how long a follower waited for its first byte

  void set(std::string name, std::string value);   // replaces an existing header
  void add(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
  // List-valued headers (Via, Cache-Status): our member goes after the upstream's (RFC 9110 §7.6.3, RFC 9211 §2).
  void append_to_list(std::string_view name, std::string_view value);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response error(int status, std::string_view reason_detail = {});
};

const char* reason_phrase(int status) noexcept;

}  // namespace hlscache
