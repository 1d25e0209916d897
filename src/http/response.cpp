#include "http/response.hpp"
#include "core/strings.hpp"

#include <fmt/format.h>
#include <strings.h>

#include "core/request.hpp"

namespace hlscache {

void Response::set(std::string name, std::string value) {
  for (auto& [k, v] : headers)
    if (iequal(k, name)) {
      v = std::move(value);
      return;
    }
  headers.emplace_back(std::move(name), std::move(value));
}

void Response::append_to_list(std::string_view name, std::string_view value) {
  for (auto& [k, v] : headers)
    if (iequal(k, name)) {
      v = v.empty() ? std::string(value) : v + ", " + std::string(value);
      return;
    }
  headers.emplace_back(std::string(name), std::string(value));
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::error(int status, std::string_view detail) {
  std::string body = detail.empty() ? fmt::format("{} {}\n", status, reason_phrase(status))
                                    : fmt::format("{} {}: {}\n", status, reason_phrase(status), detail);
  auto r = text(status, std::move(body));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

}  // namespace hlscache
