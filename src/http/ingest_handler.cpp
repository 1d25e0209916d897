#include "http/ingest_handler.hpp"

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

namespace hlscache {

namespace asio = boost::asio;

bool address_allowed(const asio::ip::address& a, const std::vector<std::string>& allow) {
  if (allow.empty()) return true;
  asio::ip::address addr = a;
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  for (const auto& entry : allow) {
    boost::system::error_code ec;
    if (entry.find('/') == std::string::npos) {
      if (asio::ip::make_address(entry, ec) == addr && !ec) return true;
      continue;
    }
    if (addr.is_v4()) {
      auto net = asio::ip::make_network_v4(entry, ec);
      if (!ec && asio::ip::make_network_v4(addr.to_v4(), net.prefix_length()).canonical() == net.canonical()) return true;
    } else {
      auto net = asio::ip::make_network_v6(entry, ec);
      if (!ec && asio::ip::make_network_v6(addr.to_v6(), net.prefix_length()).canonical() == net.canonical()) return true;
    }
  }
  return false;
}

namespace {

std::string_view query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto kv = query.substr(0, amp);
    auto eq = kv.find('=');
    if (kv.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

asio::awaitable<Response> IngestHandler::handle(RequestContext& req) {
  if (req.method != Method::put && req.method != Method::post) {
    auto r = Response::error(405);
    r.add("Allow", "PUT, POST");
    co_return r;
  }
  // /ingest/{stream}[/{rendition}]
  std::string_view rest = req.path().substr(8);
  auto slash = rest.find('/');
  std::string_view stream_name = rest.substr(0, slash);
  std::string_view rendition_name = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  LiveStream* stream = streams_.find(stream_name);
  if (!stream) co_return Response::error(404, "no such stream");
  LiveRendition* r = nullptr;
  if (rendition_name.empty()) {
    if (!stream->single()) co_return Response::error(404, "this stream has several renditions: /ingest/{stream}/{rendition}");
    r = stream->renditions().front().get();
  } else {
    r = stream->rendition(rendition_name);
  }
  if (!r || !r->config().ingest) co_return Response::error(404, "no ingest rendition by that name");
  if (!address_allowed(req.remote, r->config().ingest_allow)) {
    spdlog::warn("ingest {}: refused {} (not in allow list)", req.path(), req.remote.to_string());
    co_return Response::error(403, "address not allowed to publish");
  }
  if (!r->config().ingest_key.empty()) {
    std::string_view key = query_param(req.query(), "key");
    if (key.empty()) key = req.header("X-Stream-Key");
    if (!same_secret(key, r->config().ingest_key)) {
      spdlog::warn("ingest {}: refused {} (wrong or missing stream key)", req.path(), req.remote.to_string());
      co_return Response::error(403, "wrong or missing stream key");
    }
  }
  if (!req.body) co_return Response::error(400, "no body: push an MPEG-TS stream");
  auto session = PublishSession::begin(*r);
  if (!session) co_return Response::error(409, "this rendition already has a live publisher");
  spdlog::info("ingest {}: publisher {} connected", req.path(), req.remote.to_string());

  // A publisher that goes quiet keeps its connection and its stream for the pause
  // grace; silent longer, the stream ends. One that goes away without ending its body
  // leaves the stream live for the grace too, to come back to (live_stream.hpp).
  const Duration grace = std::chrono::duration_cast<Duration>(r->pause_grace());
  std::uint64_t total = 0;
  for (;;) {
    auto piece = co_await req.body->read_some(grace);
    if (!piece) {
      const bool silent = piece.error().code == Errc::timeout;
      spdlog::warn("ingest {}: publisher {} {}: {}", req.path(), req.remote.to_string(),
                   silent ? "silent for the whole pause grace" : "went away without ending its body",
                   piece.error().message);
      if (silent) session->end();
      else session->suspend();
      auto resp = Response::error(silent ? 408 : 400, piece.error().message);
      resp.close = true;
      co_return resp;
    }
    if (piece->empty()) break;
    session->feed(piece->data(), piece->size());
    total += piece->size();
    if (total >= (1u << 20) && session->stats().packets == 0) {
      spdlog::warn("ingest {}: {} bytes without one MPEG-TS packet; refused", req.path(), total);
      session->end();
      auto resp = Response::error(400, "not an MPEG-TS stream");
      resp.close = true;
      co_return resp;
    }
  }
  auto st = session->stats();
  session->end();
  if (st.packets == 0) co_return Response::error(400, "no MPEG-TS packets in the body");
  co_return Response::text(200, fmt::format("ingested {} bytes, {} packets, {} resyncs, {} continuity errors\n", total,
                                            st.packets, st.resyncs, st.cc_errors));
}

}  // namespace hlscache
