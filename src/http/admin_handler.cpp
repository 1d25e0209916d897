#include "http/admin_handler.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <array>

#include "cache/cache_key.hpp"
#include "core/strings.hpp"

namespace hlscache {

namespace {

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> d{};
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

Response unauthorized(bool presented) {
  auto r = Response::error(401, presented ? "wrong admin token" : "an admin token is required");
  r.add("WWW-Authenticate", presented ? R"(Bearer realm="hlscache", error="invalid_token")" : R"(Bearer realm="hlscache")");
  return r;
}

Response method_not_allowed(const char* allow) {
  auto r = Response::error(405);
  r.add("Allow", allow);
  return r;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool token_matches(std::string_view presented, std::string_view expected) {
  if (expected.empty()) return false;
  const auto a = sha256(presented);
  const auto b = sha256(expected);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int h = hex(s[i + 1]), l = hex(s[i + 2]);
    if (h < 0 || l < 0) return std::nullopt;
    out += static_cast<char>(h * 16 + l);
    i += 2;
  }
  return out;
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = part.find('=');
    if (part.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
  }
  return std::nullopt;
}

boost::asio::awaitable<Response> AdminHandler::handle(RequestContext& req) { co_return answer(req); }

Response AdminHandler::answer(const RequestContext& req) {
  const ConfigPtr config = config_.get();
  if (!config->admin.enabled()) return Response::error(404, "the admin API is off (no admin.token)");

  std::string_view auth = req.header("Authorization");
  const bool presented = !auth.empty();
  std::string_view token;
  if (auth.size() > 7 && iequal(auth.substr(0, 7), "Bearer ")) token = trim(auth.substr(7));
  if (!token_matches(token, config->admin.token)) {
    spdlog::warn("admin: {} {} from {}: {}", req.method_text, req.path(), req.remote.to_string(),
                 presented ? "wrong token" : "no token");
    return unauthorized(presented);
  }

  const std::string_view path = req.path();
  const bool get_or_head = req.method == Method::get || req.method == Method::head;
  Response r;
  if (path == "/admin/purge") {
    r = purge(req, *config);
  } else if (path == "/admin/config" || path == "/admin/load" || path == "/admin/streams") {
    if (!get_or_head) return method_not_allowed("GET, HEAD");
    if (path == "/admin/config")
      r = Response::text(200, config->to_yaml(), "application/yaml; charset=utf-8");
    else if (path == "/admin/load")
      r = Response::text(200, load_.to_json(), "application/json");
    else
      r = Response::text(200, (streams_ ? streams_(SteadyClock::now()) : std::string("[]")) + "\n", "application/json");
  } else {
    return Response::error(404, "no such admin endpoint: /admin/purge, /admin/streams, /admin/config, /admin/load");
  }
  r.add("Cache-Control", "no-store");
  return r;
}

Response AdminHandler::purge(const RequestContext& req, const Config& cfg) {
  if (req.method != Method::post && std::string_view(req.method_text) != "DELETE")
    return method_not_allowed("POST, DELETE");
  if (!cache_) return Response::error(404, "this node has no cache");
  const auto key = query_param(req.query(), "key");
  const auto prefix = query_param(req.query(), "prefix");
  if (key.has_value() == prefix.has_value()) return Response::error(400, "give exactly one of ?key= or ?prefix=");
  const auto value = percent_decode(key ? *key : *prefix);
  if (!value || value->empty() || value->front() != '/')
    return Response::error(400, "the key or prefix must be a percent-encoded path starting with /");
  std::size_t n = 0;
  std::string what;
  if (key) {
    what = normalize_cache_key(*value, cfg.cache.key_ignore_params);
    n = cache_->erase(what) ? 1 : 0;
  } else {
    what = *value;
    n = cache_->erase_prefix(what);
  }
  spdlog::info("admin: purged {} object(s) by {} '{}' for {}", n, key ? "key" : "prefix", what, req.remote.to_string());
  return Response::text(200, fmt::format(R"({{"purged":{},"{}":"{}"}})"
                                         "\n",
                                         n, key ? "key" : "prefix", json_escape(what)),
                        "application/json");
}

}  // namespace hlscache
