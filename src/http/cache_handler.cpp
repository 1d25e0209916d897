#include "http/cache_handler.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>

#include "cache/freshness.hpp"
#include "core/gzip.hpp"

// GCC 12 reports Asio's coroutine frame allocation as mismatched (-Wmismatched-new-delete)
// once it inlines the frame's operator new (aligned_alloc) and delete (free) — a matched
// pair — into handle(); which coroutine it picks depends on inlining. A false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace hlscache {

namespace asio = boost::asio;

CacheHandler::CacheHandler(ConfigPtr config, Cache& cache, Coalescer& coalescer, Source& source, const Clock& clock)
    : config_(std::move(config)), cache_(cache), coalescer_(coalescer), source_(source), clock_(clock) {}

std::optional<Response> CacheHandler::answer_now(RequestContext& req) {
  const ConfigPtr config = config_.get();
  const Config& cfg = *config;
  // Without a query the key is the target itself: no copy.
  std::string normalized;
  std::string_view key = req.target;
  if (key.find('?') != std::string_view::npos) key = normalized = normalize_cache_key(req.target, cfg.cache.key_ignore_params);
  const TimePoint now = clock_.now();
  ObjectPtr fresh = cache_.find_fresh(key, now);
  if (!fresh) return std::nullopt;
  return respond_from_object(fresh, req, now, CacheResult::hit, cfg.server_name);
}

asio::awaitable<Response> CacheHandler::handle(RequestContext& req) {
  // (No co_await inside the switch below: GCC 12 miscompiles some coroutine suspension points in switch cases.)
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  const ConfigPtr config = config_.get();  // one snapshot per request (reloads swap it)
  const Config& cfg = *config;
  const std::string key = normalize_cache_key(req.target, cfg.cache.key_ignore_params);
  const TimePoint now = clock_.now();
  LookupResult found = cache_.lookup(key, now);

  if (found.state == LookupState::fresh)
    co_return respond_from_object(found.object, req, now, CacheResult::hit, cfg.server_name);

  if (found.state == LookupState::stale) co_return co_await serve_stale(cfg, ex, key, req, found.object, now);

  auto ticket = coalescer_.acquire(key, now, [&]() -> ObjectPtr {
    auto again = cache_.lookup(key, now);
    return again.state == LookupState::fresh ? again.object : nullptr;
  });
  switch (ticket.outcome) {
    case Coalescer::Outcome::fresh_hit:
      co_return respond_from_object(ticket.object, req, now, CacheResult::hit, cfg.server_name);
    case Coalescer::Outcome::overloaded: {
      auto r = Response::error(503, "too many requests waiting on upstream fetches");
      r.add("Retry-After", "1");
      co_return r;
    }
    case Coalescer::Outcome::leader:
      start_fetch(ex, key, req, ticket.fetch);
      break;
    case Coalescer::Outcome::follower:
      break;
  }
  co_return co_await serve_miss(cfg, std::move(ticket));
}

asio::awaitable<Response> CacheHandler::serve_stale(const Config& cfg, const asio::any_io_executor& ex,
                                                    const std::string& key, RequestContext& req, ObjectPtr stale,
                                                    TimePoint now) {
  // At most one refresh runs (a second stale hit finds it in flight). Every stale hit
  // waits up to freshness.stale_wait for the refreshed head — a live playlist refresh
  // takes a round trip, and a tier that always answered with the previous version
  // would add one polling interval of latency per tier — then takes the stale copy if
  // the refresh is slow or fails (stale-while-revalidate, stale-if-error).
  auto ticket = coalescer_.acquire(key, now, nullptr);
  if (ticket.outcome == Coalescer::Outcome::leader) start_fetch(ex, key, req, ticket.fetch);
  const bool joined = ticket.outcome == Coalescer::Outcome::leader || ticket.outcome == Coalescer::Outcome::follower;
  bool usable = false;
  if (joined && cfg.freshness.stale_wait.count() > 0) {
    auto head = co_await ticket.fetch->wait_head(std::chrono::duration_cast<Duration>(cfg.freshness.stale_wait));
    usable = head.ok() && head->status < 500;
  }
  if (usable) co_return co_await serve_miss(cfg, std::move(ticket), true);
  co_return respond_from_object(stale, req, now, CacheResult::stale, cfg.server_name);
}

asio::awaitable<Response> CacheHandler::serve_miss(const Config& cfg, Coalescer::Ticket ticket, bool revalidated) {
  const bool follower = ticket.outcome == Coalescer::Outcome::follower;
  const TimePoint started = SteadyClock::now();
  auto head = co_await ticket.fetch->wait_head();
  const double waited_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
  const CacheResult result = follower ? CacheResult::coalesced : CacheResult::miss;
  if (!head) {
    const Error& e = head.error();
    int status = e.code == Errc::timeout ? 504 : 502;
    Response r = Response::error(status, e.code == Errc::timeout ? "upstream timed out" : "upstream failed");
    r.cache = result;
    r.waited_ms = waited_ms;
    r.add("Cache-Status", fmt::format("{}; fwd=miss{}; detail={}", cfg.server_name, follower ? "; collapsed" : "",
                                      e.code == Errc::timeout ? "timeout" : "upstream-error"));
    co_return r;
  }
  Response r;
  r.status = head->status;
  r.headers = head->headers;
  r.append_to_list("Cache-Status", fmt::format("{}; fwd={}{}", cfg.server_name, revalidated ? "stale" : "miss",
                                               follower ? "; collapsed" : ""));
  r.set("X-Cache", follower ? "COALESCED" : "MISS");
  r.append_to_list("Via", fmt::format("1.1 {}", cfg.server_name));
  // The upstream's Age is passed on only once the object is ours (object_response.cpp); its
  // Date was for the freshness decision, the session writes our own.
  std::erase_if(r.headers, [](const Header& h) {
    return strcasecmp(h.first.c_str(), "Age") == 0 || strcasecmp(h.first.c_str(), "Date") == 0;
  });
  r.cache = result;
  r.waited_ms = waited_ms;
  r.body = StreamBody{ticket.fetch, head->content_length};
  co_return r;
}

void CacheHandler::start_fetch(const asio::any_io_executor& ex, const std::string& key, const RequestContext& req,
                               FetchPtr fetch) {
  SourceRequest sreq;
  sreq.key = key;
  sreq.target = req.target;
  sreq.client_address = req.remote.to_string();
  // Owned by the coalescer's entry, not by this client: if the client goes, the fetch goes on.
  asio::co_spawn(ex, run_fetch(key, std::string(req.path()), std::move(sreq), fetch),
                 [this, key, fetch](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& err) {
                     spdlog::error("fetch task for {} failed: {}", key, err.what());
                   }
                   fetch->fail(Error::make(ErrorSource::internal, Errc::io, "fetch task failed"));
                   coalescer_.finish(key, fetch);
                 });
}

asio::awaitable<void> CacheHandler::run_fetch(std::string key, std::string path, SourceRequest sreq, FetchPtr fetch) {
  co_await source_.fetch(std::move(sreq), fetch);
  if (fetch->phase() == Fetch::Phase::complete) {
    const TimePoint now = clock_.now();
    const ConfigPtr config = config_.get();
    if (ObjectPtr obj = build_object(*config, path, *fetch, now)) cache_.insert(key, std::move(obj), now);
  } else if (fetch->phase() != Fetch::Phase::failed) {
    fetch->fail(Error::make(ErrorSource::internal, Errc::protocol, "source ended without completing the fetch"));
  }
  // Insert first, then release the key: a miss that arrives in between finds the object (see acquire's recheck).
  coalescer_.finish(key, fetch);
}

ObjectPtr CacheHandler::build_object(const Config& cfg, const std::string& path, const Fetch& fetch, TimePoint now) const {
  auto head = fetch.head();
  std::vector<Chunk> chunks = fetch.body_chunks();
  std::string body_text;
  const MediaKind kind = media_kind(path, [&] {
    for (const auto& [k, v] : head.headers)
      if (strcasecmp(k.c_str(), "Content-Type") == 0) return std::string_view(v);
    return std::string_view{};
  }());
  std::uint64_t size = 0;
  for (const auto& c : chunks) size += c.size;
  if (kind == MediaKind::playlist && size <= (4u << 20)) {
    body_text.reserve(size);
    for (const auto& c : chunks) body_text.append(c.view());
  }
  FreshnessDecision d = decide_freshness(head.status, head.headers, path, body_text, cfg.freshness);
  if (!d.store) return nullptr;
  auto obj = std::make_shared<Object>();
  obj->status = head.status;
  obj->headers = std::move(head.headers);
  // Age is recomputed from initial_age on every hit; X-Cache is ours to say; the upstream's
  // Date only served decide_freshness above (the session writes the Date of each response).
  std::erase_if(obj->headers, [](const Header& h) {
    return strcasecmp(h.first.c_str(), "Age") == 0 || strcasecmp(h.first.c_str(), "X-Cache") == 0 ||
           strcasecmp(h.first.c_str(), "Date") == 0;
  });
  obj->body = std::move(chunks);
  obj->body_size = size;
  obj->stored_at = now;
  obj->initial_age = d.initial_age;
  obj->fresh_until = now + d.ttl;
  obj->stale_until = obj->fresh_until + d.grace;
  obj->serialize_headers();
  obj->etag = std::string(obj->header("ETag"));
  obj->last_modified = std::string(obj->header("Last-Modified"));
  bool encoded = !obj->header("Content-Encoding").empty();
  if (kind == MediaKind::playlist && cfg.freshness.gzip_playlists && !encoded && obj->status == 200 &&
      !body_text.empty()) {
    if (auto gz = gzip_compress(body_text)) {
      auto z = std::make_shared<Object>();
      z->status = 200;
      z->headers = obj->headers;
      z->headers.emplace_back("Content-Encoding", "gzip");
      z->body.push_back(Chunk::copy_of(*gz));
      z->body_size = gz->size();
      z->serialize_headers();
      obj->gzipped = std::move(z);
    }
  }
  return obj;
}

}  // namespace hlscache
