#include "http/cache_handler.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cache/freshness.hpp"
#include "cache/vary.hpp"
#include "core/gzip.hpp"
#include "core/http_fields.hpp"
#include "core/strings.hpp"

// GCC 12 reports Asio's coroutine frame allocation as mismatched (-Wmismatched-new-delete)
// once it inlines the frame's operator new (aligned_alloc) and delete (free) — a matched
// pair — into handle(); which coroutine it picks depends on inlining. A false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace hlscache {

namespace asio = boost::asio;

namespace {

}  // namespace

std::vector<Header> forwarded_request_headers(const RequestContext& req, const Config& cfg) {
  std::vector<Header> out;
  const auto connection = combined_field(req.headers, "Connection");
  for (const auto& h : req.headers) {
    if (!forwarded_request_field(h.first, cfg.upstream.strip_request_headers) ||
        is_hop_by_hop(h.first, connection ? std::string_view(*connection) : std::string_view{}))
      continue;
    out.push_back(h);
  }
  return out;
}

// One request's miss: what every step of it needs.
struct CacheHandler::Miss {
  ConfigPtr config;  // the snapshot this request runs under
  const Config& cfg;
  std::string key;
  RequestContext& req;
  asio::any_io_executor ex;
  std::string store_key;  // where a validatable object sits (key, or a variant key)
  bool request_no_store = false;
  bool retried = false;  // missed again after a leader's answer refused for its own request
  std::optional<std::vector<Header>> forwarded_;

  const std::vector<Header>& forwarded() {
    if (!forwarded_) forwarded_ = forwarded_request_headers(req, cfg);
    return *forwarded_;
  }
};

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
  if (fresh->is_vary_marker()) {
    // The marker names only fields that are forwarded: their values are the request's own.
    fresh = cache_.find_fresh(variant_key(key, vary_values(fresh->vary, req.headers)), now);
    if (!fresh || fresh->is_vary_marker()) return std::nullopt;
  }
  return respond_from_object(fresh, req, now, CacheResult::hit, cfg.server_name);
}

CacheHandler::Found CacheHandler::lookup(const std::string& key, const RequestContext& req, TimePoint now) {
  Found f{cache_.lookup(key, now), key};
  if (f.result.state != LookupState::vary) return f;
  f.store_key = variant_key(key, vary_values(f.result.object->vary, req.headers));
  f.result = cache_.lookup(f.store_key, now);
  if (f.result.state == LookupState::vary) f.result = {};  // a marker under a variant key: never ours
  return f;
}

asio::awaitable<Response> CacheHandler::handle(RequestContext& req) {
  // (No co_await inside a switch: GCC 12 miscompiles some coroutine suspension points in switch cases.)
  const ConfigPtr config = config_.get();  // one snapshot per request (reloads swap it)
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  Miss m{config, *config, normalize_cache_key(req.target, config->cache.key_ignore_params), req, ex, {}, false, {}};
  const TimePoint now = clock_.now();

  CacheDirectives asked;
  if (has_field(req.headers, "Cache-Control")) asked = parse_cache_control(req.headers);
  Found found = lookup(m.key, req, now);
  m.store_key = found.store_key;
  const LookupState state = found.result.state;
  if (state == LookupState::fresh)
    co_return respond_from_object(found.result.object, req, now, CacheResult::hit, m.cfg.server_name);
  if (asked.only_if_cached) {  // §5.2.1.7: nothing fresh to give without going upstream
    Response r = Response::error(504, "only-if-cached: not in cache");
    r.cache = CacheResult::miss;
    co_return r;
  }
  // RFC 9111 §5.2.1.5: nothing of this exchange may be stored — it gets a fetch of its own.
  if (asked.no_store) {
    m.request_no_store = true;
    co_return co_await fetch_alone(m, "request no-store", false);
  }
  if (state == LookupState::stale) co_return co_await serve_stale(m, found.result.object, now);
  // (Named, not a conditional expression in the call: GCC 12 destroys such a temporary
  // twice in a co_await operand — a use-after-free ASan caught.)
  ObjectPtr validatable;
  if (state == LookupState::validate) validatable = found.result.object;
  co_return co_await serve_miss(m, std::move(validatable), now);
}

asio::awaitable<Response> CacheHandler::serve_miss(Miss& m, ObjectPtr validatable, TimePoint now) {
  auto ticket = coalescer_.acquire(
      m.key, now,
      [&]() -> ObjectPtr {
        auto again = lookup(m.key, m.req, now);
        return again.result.state == LookupState::fresh ? again.result.object : nullptr;
      },
      m.req.may_lead_fetch);
  const Coalescer::Outcome outcome = ticket.outcome;
  if (outcome == Coalescer::Outcome::fresh_hit)
    co_return respond_from_object(ticket.object, m.req, now, CacheResult::hit, m.cfg.server_name);
  if (outcome == Coalescer::Outcome::overloaded || outcome == Coalescer::Outcome::refused) {
    auto r = Response::error(503, outcome == Coalescer::Outcome::refused
                                      ? "this connection left too many upstream fetches running"
                                      : "too many requests waiting on upstream fetches");
    r.add("Retry-After", "1");
    co_return r;
  }
  if (outcome == Coalescer::Outcome::pass) co_return co_await fetch_alone(m, "hit-for-miss", true);
  const bool follower = outcome == Coalescer::Outcome::follower;
  if (!follower) start_fetch(m.ex, m, std::move(validatable), ticket.fetch, true);
  co_return co_await stream(m, ticket.fetch, follower ? Label::coalesced("miss") : Label::miss("miss"));
}

asio::awaitable<Response> CacheHandler::serve_stale(Miss& m, ObjectPtr stale, TimePoint now) {
  // At most one refresh runs (a second stale hit finds it in flight); it is conditional
  // when the stale copy has a validator. Every stale hit waits up to freshness.stale_wait
  // for the refreshed head — a live playlist refresh takes a round trip, and a tier that
  // always answered with the previous version would add one polling interval of latency
  // per tier — then takes the stale copy if the refresh is slow, fails, or is not one it
  // may use (stale-while-revalidate, stale-if-error).
  auto ticket = coalescer_.acquire(m.key, now, nullptr, m.req.may_lead_fetch);
  if (ticket.outcome == Coalescer::Outcome::pass) co_return co_await fetch_alone(m, "hit-for-miss", true);
  const bool leader = ticket.outcome == Coalescer::Outcome::leader;
  if (leader) start_fetch(m.ex, m, stale, ticket.fetch, true);
  const bool joined = leader || ticket.outcome == Coalescer::Outcome::follower;
  bool usable = false;
  if (joined && m.cfg.freshness.stale_wait.count() > 0) {
    auto head = co_await ticket.fetch->wait_head(std::chrono::duration_cast<Duration>(m.cfg.freshness.stale_wait));
    usable = head.ok() && head->status < 500;
    if (usable && !leader) {
      auto rule = ticket.fetch->share_rule();
      usable = !rule || (rule->shared && (rule->vary.empty() || vary_values(rule->vary, m.req.headers) == rule->leader_values));
    }
  }
  if (usable) co_return co_await stream(m, ticket.fetch, leader ? Label::miss("stale") : Label::coalesced("stale"));
  co_return respond_from_object(stale, m.req, now, CacheResult::stale, m.cfg.server_name);
}

asio::awaitable<Response> CacheHandler::stream(Miss& m, FetchPtr fetch, Label label) {
  const TimePoint started = SteadyClock::now();
  const TimePoint deadline = started + fetch->follower_wait();
  // 103 Early Hints from the upstream go on to clients that can take them, while the
  // final answer is awaited; nothing of them is stored.
  std::optional<Result<ResponseHead>> head;
  std::size_t seen = 0;
  for (;;) {
    head = co_await fetch->wait_head_or_interim(seen, deadline);
    if (head) break;
    const auto interims = fetch->interims();
    for (; seen < interims.size(); ++seen) {
      if (interims[seen].status == 103 && m.req.interim) co_await m.req.interim->send_interim(103, interims[seen].headers);
    }
  }
  const double waited_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
  const auto& cfg = m.cfg;
  const std::string collapsed = label.follower ? "; collapsed" : "";
  if (!head->ok()) {
    const Error& e = head->error();
    const int status = e.code == Errc::timeout ? 504 : 502;
    Response r = Response::error(status, e.code == Errc::timeout ? "upstream timed out" : "upstream failed");
    r.cache = label.result;
    r.waited_ms = waited_ms;
    r.add("Cache-Status", fmt::format("{}; fwd=miss{}; detail={}", cfg.server_name, collapsed,
                                      e.code == Errc::timeout ? "timeout" : "upstream-error"));
    co_return r;
  }
  // A follower uses the leader's answer only where the leader's ShareRule allows.
  std::shared_ptr<const ShareRule> rule = fetch->share_rule();
  if (label.follower && rule) {
    // Refused for the leader's own request (Authorization): the key was released; miss
    // again once, coalescing with the others who were waiting.
    if (!rule->shared && rule->retry && !m.retried) {
      m.retried = true;
      co_return co_await serve_miss(m, nullptr, clock_.now());
    }
    if (!rule->shared) co_return co_await fetch_alone(m, "not-shareable", false);
    if (!rule->vary.empty() && vary_values(rule->vary, m.req.headers) != rule->leader_values)
      co_return co_await fetch_alone(m, "vary", false);
  }
  const ResponseHead& h = **head;
  Response r;
  r.status = h.status;
  r.headers = h.headers;
  if (label.follower && rule)
    for (const auto& f : rule->strip) remove_field(r.headers, f);
  // The upstream's Age and Date stay: the response is as old as the upstream said (RFC 9111 §5.1).
  r.has_date = has_field(r.headers, "Date");
  r.append_to_list("Cache-Status", fmt::format("{}; fwd={}{}{}", cfg.server_name, label.fwd, collapsed,
                                               label.detail ? fmt::format("; detail={}", label.detail) : ""));
  r.set("X-Cache", label.follower ? "COALESCED" : "MISS");
  r.append_to_list("Via", fmt::format("1.1 {}", cfg.server_name));
  r.cache = label.result;
  r.waited_ms = waited_ms;
  r.body = StreamBody{fetch, h.content_length};
  co_return r;
}

asio::awaitable<Response> CacheHandler::fetch_alone(Miss& m, const char* why, bool slot_reserved) {
  if (!slot_reserved && !m.req.may_lead_fetch) {  // the connection left too many fetches running
    auto r = Response::error(503, "this connection left too many upstream fetches running");
    r.add("Retry-After", "1");
    co_return r;
  }
  if (!slot_reserved && !coalescer_.reserve_private()) {
    auto r = Response::error(503, "too many requests waiting on upstream fetches");
    r.add("Retry-After", "1");
    co_return r;
  }
  auto fetch = std::make_shared<Fetch>(clock_.now(), std::chrono::duration_cast<Duration>(m.cfg.timeouts.follower_wait),
                                       m.cfg.limits.max_object_bytes);
  start_fetch(m.ex, m, nullptr, fetch, false);
  // RFC 9211 fwd=: request (the request asked for it), vary-miss (another variant), else miss.
  const std::string_view w(why);
  Label label = Label::miss(w == "request no-store" ? "request" : w == "vary" ? "vary-miss" : "miss");
  label.detail = why;
  co_return co_await stream(m, fetch, label);
}

FetchPtr CacheHandler::start_fetch(const asio::any_io_executor& ex, Miss& m, ObjectPtr validating, FetchPtr fetch,
                                   bool coalesced) {
  SourceRequest sreq;
  sreq.key = m.key;
  sreq.target = m.req.target;
  sreq.client_address = m.req.remote.to_string();
  sreq.headers = m.forwarded();
  if (validating) {  // RFC 9111 §4.3.1: validate the stored response we have
    if (!validating->etag.empty()) sreq.headers.emplace_back("If-None-Match", validating->etag);
    if (!validating->last_modified.empty()) sreq.headers.emplace_back("If-Modified-Since", validating->last_modified);
    if (validating->etag.empty() && validating->last_modified.empty()) validating.reset();
  }
  LeaderRequest lr;
  lr.key = m.key;
  lr.store_key = m.store_key.empty() ? m.key : m.store_key;
  lr.path = std::string(m.req.path());
  lr.forwarded = m.forwarded();
  lr.authorization = has_field(m.req.headers, "Authorization");
  lr.no_store = m.request_no_store;
  lr.validating = std::move(validating);
  auto sink = std::make_shared<LeaderSink>(fetch, std::move(lr), m.config, coalescer_, clock_);
  m.req.led_fetch = fetch;
  // Owned by the coalescer's entry (or by this one client's fetch), not by the client:
  // if the client goes, the fetch goes on and its answer is still stored.
  asio::co_spawn(ex, run_fetch(m.config, std::move(sreq), sink, fetch, coalesced),
                 [this, key = m.key, fetch, coalesced](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& err) {
                     spdlog::error("fetch task for {} failed: {}", key, err.what());
                   }
                   fetch->fail(Error::make(ErrorSource::internal, Errc::io, "fetch task failed"));
                   if (coalesced) coalescer_.finish(key, fetch);
                   else coalescer_.release_private();
                 });
  return fetch;
}

asio::awaitable<void> CacheHandler::run_fetch(ConfigPtr config, SourceRequest sreq, std::shared_ptr<LeaderSink> sink,
                                              FetchPtr fetch, bool coalesced) {
  co_await source_.fetch(sreq, sink);
  if (sink->validator_mismatch()) {
    // The 304 was about another representation than ours: fetch it whole.
    sink->reset_for_unconditional();
    remove_field(sreq.headers, "If-None-Match");
    remove_field(sreq.headers, "If-Modified-Since");
    co_await source_.fetch(sreq, sink);
  }
  if (fetch->phase() == Fetch::Phase::complete) {
    store(*config, *sink, *fetch);
  } else if (fetch->phase() != Fetch::Phase::failed) {
    fetch->fail(Error::make(ErrorSource::internal, Errc::protocol, "source ended without completing the fetch"));
  }
  // Insert first, then release the key: a miss that arrives in between finds the object (see acquire's recheck).
  if (coalesced) coalescer_.finish(sink->request().key, fetch);
  else coalescer_.release_private();
}

void CacheHandler::store(const Config& cfg, const LeaderSink& sink, const Fetch& fetch) {
  const LeaderRequest& lr = sink.request();
  if (lr.no_store) return;  // RFC 9111 §5.2.1.5
  ResponseHead head = fetch.head();
  std::vector<Chunk> chunks = fetch.body_chunks();
  std::uint64_t size = 0;
  for (const auto& c : chunks) size += c.size;
  const MediaKind kind = media_kind(lr.path, field_value(head.headers, "Content-Type"));
  std::string body_text;
  if (kind == MediaKind::playlist && size <= (4u << 20)) {
    body_text.reserve(size);
    for (const auto& c : chunks) body_text.append(c.view());
  }
  const FreshnessDecision d = decide_freshness(
      ResponseFacts{head.status, &head.headers, lr.path, body_text, lr.authorization, sink.response_wall(),
                    sink.response_delay()},
      cfg.freshness);
  if (d.storable) coalescer_.clear_uncacheable(lr.key);  // the key's answers may be shared again
  if (!d.store) {
    // What the upstream says now about the object we were refreshing: not to be kept, so
    // that copy goes too (unless something newer was stored meanwhile). A refusal for the
    // request's own sake (Authorization) says nothing about the object.
    if (!d.storable && !d.request_specific && head.status < 500 && lr.validating)
      cache_.erase_if_same(lr.store_key, lr.validating);
    return;
  }
  auto obj = std::make_shared<Object>();
  obj->status = head.status;
  obj->headers = std::move(head.headers);
  // Age is recomputed from initial_age on every hit; X-Cache is ours to say; the fields
  // the directives keep from the store (Set-Cookie, no-cache="f", private="f") go.
  std::erase_if(obj->headers, [&](const Header& h) {
    if (iequal(h.first, "Age") || iequal(h.first, "X-Cache")) return true;
    return std::any_of(d.strip.begin(), d.strip.end(), [&](const std::string& s) { return iequal(s, h.first); });
  });
  obj->body = std::move(chunks);
  obj->body_size = size;
  obj->stored_at = sink.response_time();
  obj->initial_age = d.initial_age;
  obj->fresh_until = obj->stored_at + d.ttl;
  obj->stale_until = obj->fresh_until + d.grace;
  obj->keep_until = d.keep > Duration::zero() ? obj->stale_until + d.keep : TimePoint{};
  obj->serialize_headers();
  obj->etag = std::string(obj->header("ETag"));
  obj->last_modified = std::string(obj->header("Last-Modified"));
  const bool encoded = !obj->header("Content-Encoding").empty();
  if (kind == MediaKind::playlist && cfg.freshness.gzip_playlists && !encoded && obj->status == 200 &&
      !body_text.empty()) {
    if (auto gz = gzip_compress(body_text)) {
      // Both copies vary on Accept-Encoding now, besides whatever the upstream named.
      if (auto vary = combined_field(obj->headers, "Vary")) {
        bool names_ae = false;
        for_each_member(*vary, [&](std::string_view n) { names_ae = names_ae || iequal(n, "Accept-Encoding") || n == "*"; });
        if (!names_ae) {
          remove_field(obj->headers, "Vary");
          obj->headers.emplace_back("Vary", *vary + ", Accept-Encoding");
          obj->serialize_headers();
        }
      }
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
  const TimePoint now = clock_.now();
  const std::vector<std::string> vary = forwarded_vary(d.vary, cfg.upstream.strip_request_headers);
  if (vary.empty()) {
    cache_.insert(lr.key, std::move(obj), now);
  } else {
    // One variant per combination of the Vary'd request fields (as forwarded upstream);
    // the marker is rebuilt from the one stored now, under its shard's lock.
    const std::string values = vary_values(vary, lr.forwarded);
    const TimePoint expires = obj->expires_at();
    cache_.insert(variant_key(lr.key, values), std::move(obj), now);
    std::vector<std::string> evicted;
    cache_.insert_with(
        lr.key,
        [&](const ObjectPtr& current) {
          evicted.clear();
          return make_vary_marker(current.get(), vary, values, expires, cfg.cache.max_variants, evicted);
        },
        now);
    for (const auto& e : evicted) cache_.erase(variant_key(lr.key, e));
  }
}

}  // namespace hlscache
