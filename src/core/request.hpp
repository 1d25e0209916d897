// RequestContext: what a session (HTTP/1.1 or HTTP/2) parsed from one request,
// in a protocol-neutral form. Both sessions build one and call the same Handler,
// so caching, coalescing and the segmenter behave the same whatever the protocol.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <memory>

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/http_fields.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"

namespace hlscache {

enum class Method { get, head, put, post, other };

// A request body read as it arrives (ingest routes only; elsewhere bodies are
// read and dropped, bounded, before the handler runs).
class RequestBody {
 public:
  virtual ~RequestBody() = default;
  // The next piece of the body (valid until the next call); an empty view at its end.
  // Fails with Errc::timeout when nothing arrives within `idle`.
  virtual boost::asio::awaitable<Result<std::string_view>> read_some(Duration idle) = 0;
  virtual bool done() const = 0;
};

// Sends informational responses (103 Early Hints from an origin) ahead of the final
// one. A session sets RequestContext::interim only for clients that may get one
// (HTTP/1.1 and HTTP/2; never HTTP/1.0, RFC 9110 §15.2) and only before the final
// response's head has been written.
class InterimWriter {
 public:
  virtual ~InterimWriter() = default;
  virtual boost::asio::awaitable<void> send_interim(int status, const std::vector<Header>& headers) = 0;
};

struct RequestContext {
  Method method = Method::get;
  std::string method_text;      // as sent
  std::string target;           // raw request target: path + optional ?query
  std::string_view path() const { auto q = target.find('?'); return std::string_view(target).substr(0, q); }
  std::string_view query() const {
    auto q = target.find('?');
    return q == std::string::npos ? std::string_view{} : std::string_view(target).substr(q + 1);
  }
  std::vector<Header> headers;  // as received, names as sent
  std::string_view header(std::string_view name) const { return field_value(headers, name); }  // first value, case-insensitive
  boost::asio::ip::address remote;
  const char* protocol = "HTTP/1.1";
  TimePoint received{};
  std::chrono::system_clock::time_point received_wall{};  // for the access log
  RequestBody* body = nullptr;  // set for streaming (ingest) requests
  InterimWriter* interim = nullptr;  // set when the client can take a 1xx before the final answer
  // Upstream fetches this request started (it led a miss): the handler stores a weak
  // reference to the fetch here, so a session can tell whether a request it lost (an
  // HTTP/2 stream the client reset) left a fetch running with nobody waiting for it.
  std::weak_ptr<const void> led_fetch;
  // False when the connection already left too many such fetches running: the handler
  // must not start another (it answers 503); hits are still served.
  bool may_lead_fetch = true;
  // The normalized cache key, once the cache has worked it out for this request
  // (empty until then, and for a target without a query: the key is the target).
  std::string cache_key;
  bool viewer_noted = false;  // the local role's viewer count has seen this request
};

}  // namespace hlscache
