#include "miss/miss_path.hpp"

#include <boost/asio/this_coro.hpp>

#include <optional>

#include "cache/cache_key.hpp"
#include "cache/freshness.hpp"
#include "cache/vary.hpp"
#include "core/http_fields.hpp"
#include "miss/fetch_task.hpp"
#include "miss/leader_sink.hpp"

// GCC 12 reports Asio's coroutine frame allocation as mismatched (-Wmismatched-new-delete)
// once it inlines the frame's operator new (aligned_alloc) and delete (free) — a matched
// pair. A false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// GCC 12 coroutine rules kept here: no co_await inside a switch case, and no
// conditional expression making a class temporary in a co_await operand (it is
// destroyed twice): such values go through named locals.

namespace hlscache {

namespace asio = boost::asio;

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
struct MissPath::Miss {
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

namespace {

CacheAnswer stored(ObjectPtr object, CacheResult result) {
  CacheAnswer a;
  a.kind = CacheAnswer::Kind::stored;
  a.result = result;
  a.object = std::move(object);
  return a;
}

CacheAnswer refused(int status, const char* reason, bool retry_after, CacheResult result = CacheResult::none) {
  CacheAnswer a;
  a.kind = CacheAnswer::Kind::refused;
  a.status = status;
  a.reason = reason;
  a.retry_after = retry_after;
  a.result = result;
  return a;
}

CacheAnswer overloaded() { return refused(503, "too many requests waiting on upstream fetches", true); }
CacheAnswer too_many_left() { return refused(503, "this connection left too many upstream fetches running", true); }

}  // namespace

MissPath::MissPath(Cache& cache, Coalescer& coalescer, Source& source, const Clock& clock)
    : cache_(cache), coalescer_(coalescer), source_(source), clock_(clock) {}

ObjectPtr MissPath::fresh(RequestContext& req, const Config& cfg, TimePoint now) const {
  // Without a query the key is the target itself: no copy.
  std::string_view key = req.target;
  if (key.find('?') != std::string_view::npos) {
    if (req.cache_key.empty()) req.cache_key = normalize_cache_key(req.target, cfg.cache.key_ignore_params);
    key = req.cache_key;
  }
  ObjectPtr found = cache_.find_fresh(key, now);
  if (!found || !found->is_vary_marker()) return found;
  // The marker names only fields that are forwarded: their values are the request's own.
  found = cache_.find_fresh(variant_key(key, vary_values(found->vary, req.headers)), now);
  return found && !found->is_vary_marker() ? found : nullptr;
}

MissPath::Found MissPath::lookup(const std::string& key, const RequestContext& req, TimePoint now) const {
  Found f{cache_.lookup(key, now), key};
  if (f.result.state != LookupState::vary) return f;
  f.store_key = variant_key(key, vary_values(f.result.object->vary, req.headers));
  f.result = cache_.lookup(f.store_key, now);
  if (f.result.state == LookupState::vary) f.result = {};  // a marker under a variant key: never ours
  return f;
}

asio::awaitable<CacheAnswer> MissPath::resolve(RequestContext& req, ConfigPtr config) {
  const Config& cfg = *config;
  if (req.cache_key.empty()) req.cache_key = normalize_cache_key(req.target, cfg.cache.key_ignore_params);
  // (co_await in a braced initializer is miscompiled by GCC 12: the executor first.)
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  Miss m{std::move(config), cfg, req.cache_key, req, ex, {}, false, false, {}};
  const TimePoint now = clock_.now();

  CacheDirectives asked;
  if (has_field(req.headers, "Cache-Control")) asked = parse_cache_control(req.headers);
  Found found = lookup(m.key, req, now);
  m.store_key = found.store_key;
  const LookupState state = found.result.state;
  if (state == LookupState::fresh) co_return stored(found.result.object, CacheResult::hit);
  // RFC 9111 §5.2.1.7: nothing fresh to give without going upstream.
  if (asked.only_if_cached) co_return refused(504, "only-if-cached: not in cache", false, CacheResult::miss);
  // §5.2.1.5: nothing of this exchange may be stored — it gets a fetch of its own.
  if (asked.no_store) {
    m.request_no_store = true;
    co_return co_await fetch_alone(m, "request no-store", false);
  }
  if (state == LookupState::stale) co_return co_await serve_stale(m, found.result.object, now);
  ObjectPtr validatable;
  if (state == LookupState::validate) validatable = found.result.object;
  co_return co_await serve_miss(m, std::move(validatable), now);
}

asio::awaitable<CacheAnswer> MissPath::serve_miss(Miss& m, ObjectPtr validatable, TimePoint now) {
  // The re-check runs under the key's lock when no fetch is in flight: a leader that
  // finished in between has inserted first.
  auto ticket = coalescer_.acquire(
      m.key, now,
      [&]() -> ObjectPtr {
        auto again = lookup(m.key, m.req, now);
        return again.result.state == LookupState::fresh ? again.result.object : nullptr;
      },
      m.req.may_lead_fetch);
  const Coalescer::Outcome outcome = ticket.outcome;
  if (outcome == Coalescer::Outcome::fresh_hit) co_return stored(ticket.object, CacheResult::hit);
  if (outcome == Coalescer::Outcome::overloaded) co_return overloaded();
  if (outcome == Coalescer::Outcome::refused) co_return too_many_left();
  if (outcome == Coalescer::Outcome::pass) co_return co_await fetch_alone(m, "hit-for-miss", true);
  const bool follower = outcome == Coalescer::Outcome::follower;
  if (!follower) start_fetch(m, std::move(validatable), ticket.fetch, true);
  co_return co_await follow(m, ticket.fetch, follower, "miss", nullptr);
}

asio::awaitable<CacheAnswer> MissPath::serve_stale(Miss& m, ObjectPtr stale, TimePoint now) {
  // At most one refresh runs (a second stale hit finds it in flight); it is conditional
  // when the stale copy has a validator. Every stale hit waits up to freshness.stale_wait
  // for the refreshed head — a live playlist refresh takes a round trip, and a tier that
  // always answered with the previous version would add one polling interval of latency
  // per tier — then takes the stale copy if the refresh is slow, fails, or is not one it
  // may use (stale-while-revalidate, stale-if-error).
  auto ticket = coalescer_.acquire(m.key, now, nullptr, m.req.may_lead_fetch);
  if (ticket.outcome == Coalescer::Outcome::pass) co_return co_await fetch_alone(m, "hit-for-miss", true);
  const bool leader = ticket.outcome == Coalescer::Outcome::leader;
  if (leader) start_fetch(m, stale, ticket.fetch, true);
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
  if (usable) co_return co_await follow(m, ticket.fetch, !leader, "stale", nullptr);
  co_return stored(std::move(stale), CacheResult::stale);
}

asio::awaitable<CacheAnswer> MissPath::follow(Miss& m, FetchPtr fetch, bool follower, const char* fwd,
                                              const char* detail) {
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
  CacheAnswer a;
  a.result = follower ? CacheResult::coalesced : CacheResult::miss;
  a.fwd = fwd;
  a.collapsed = follower;
  a.detail = detail;
  a.waited_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
  if (!head->ok()) {
    const bool timeout = head->error().code == Errc::timeout;
    a.kind = CacheAnswer::Kind::failed;
    a.status = timeout ? 504 : 502;
    a.reason = timeout ? "upstream timed out" : "upstream failed";
    a.fwd = "miss";
    a.detail = timeout ? "timeout" : "upstream-error";
    co_return a;
  }
  // A follower uses the leader's answer only where the leader's ShareRule allows.
  std::shared_ptr<const ShareRule> rule = fetch->share_rule();
  if (follower && rule) {
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
  a.kind = CacheAnswer::Kind::streamed;
  a.fetch = std::move(fetch);
  a.head = **head;
  if (follower && rule)
    for (const auto& f : rule->strip) remove_field(a.head.headers, f);
  co_return a;
}

asio::awaitable<CacheAnswer> MissPath::fetch_alone(Miss& m, const char* why, bool slot_reserved) {
  if (!slot_reserved && !m.req.may_lead_fetch) co_return too_many_left();
  if (!slot_reserved && !coalescer_.reserve_private()) co_return overloaded();
  auto fetch = std::make_shared<Fetch>(clock_.now(), std::chrono::duration_cast<Duration>(m.cfg.timeouts.follower_wait),
                                       m.cfg.limits.max_object_bytes);
  start_fetch(m, nullptr, fetch, false);
  // RFC 9211 fwd=: request (the request asked for it), vary-miss (another variant), else miss.
  const std::string_view w(why);
  const char* fwd = w == "request no-store" ? "request" : w == "vary" ? "vary-miss" : "miss";
  co_return co_await follow(m, fetch, false, fwd, why);
}

void MissPath::start_fetch(Miss& m, ObjectPtr validating, const FetchPtr& fetch, bool coalesced) {
  FetchTask t;
  t.config = m.config;
  t.fetch = fetch;
  t.coalesced = coalesced;
  t.request.key = m.key;
  t.request.target = m.req.target;
  t.request.client_address = m.req.remote.to_string();
  t.request.headers = m.forwarded();
  if (validating) {  // RFC 9111 §4.3.1: validate the stored response we have
    if (!validating->etag.empty()) t.request.headers.emplace_back("If-None-Match", validating->etag);
    if (!validating->last_modified.empty()) t.request.headers.emplace_back("If-Modified-Since", validating->last_modified);
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
  // A segment the upstream may not have yet: it may hold the request until it has.
  if (const auto ahead = live_edges_.ahead(m.key, clock_.now())) {
    t.request.held_first_byte = held_first_byte_wait(ahead->target_duration, m.cfg.timeouts);
    lr.ahead_of_live = true;
  } else if (const auto target = live_edges_.blocking_reload(m.key)) {
    // An LL-HLS blocking reload: held upstream until the playlist has the part asked for.
    t.request.held_first_byte = blocking_reload_wait(*target, m.cfg.timeouts);
  }
  t.sink = std::make_shared<LeaderSink>(fetch, std::move(lr), m.config, coalescer_, clock_);
  m.req.led_fetch = fetch;
  spawn_fetch(m.ex, FetchDeps{cache_, coalescer_, source_, clock_, stream_restarts_, live_edges_}, std::move(t));
}

}  // namespace hlscache
