#include "miss/leader_sink.hpp"

#include <algorithm>

#include "cache/vary.hpp"
#include "core/http_fields.hpp"
#include "core/strings.hpp"

namespace hlscache {

namespace {

bool kept_from_store(std::string_view name) {
  return iequal(name, "Content-Length") || iequal(name, "Content-Encoding") || iequal(name, "Transfer-Encoding") ||
         iequal(name, "Content-Range");
}

// The opaque tag of an entity-tag, W/ dropped: a 304 names the stored response whose tag
// it matches, strong or weak (RFC 9111 §4.3.4; servers weaken tags, e.g. when compressing).
std::string_view opaque(std::string_view etag) {
  if (etag.size() > 1 && etag[0] == 'W' && etag[1] == '/') etag.remove_prefix(2);
  return etag;
}

}  // namespace

std::vector<Header> update_stored_fields(const std::vector<Header>& stored, const std::vector<Header>& from_304) {
  std::vector<Header> out;
  out.reserve(stored.size() + from_304.size());
  auto replaced = [&](std::string_view name) {
    if (kept_from_store(name)) return false;
    return std::any_of(from_304.begin(), from_304.end(), [&](const Header& h) { return iequal(h.first, name); });
  };
  for (const auto& h : stored)
    if (!replaced(h.first) && !iequal(h.first, "Age")) out.push_back(h);
  for (const auto& h : from_304)
    if (!kept_from_store(h.first)) out.push_back(h);
  return out;
}

LeaderSink::LeaderSink(FetchPtr fetch, LeaderRequest request, ConfigPtr config, Coalescer& coalescer,
                       const Clock& clock)
    : fetch_(std::move(fetch)),
      request_(std::move(request)),
      config_(std::move(config)),
      freshness_(config_->freshness),
      coalescer_(coalescer),
      clock_(clock),
      request_time_(clock.now()) {}

void LeaderSink::interim(int status, std::vector<Header> headers) { fetch_->interim(status, std::move(headers)); }

ResponseHead LeaderSink::updated_from_304(const ResponseHead& not_modified) const {
  const Object& stored = *request_.validating;
  ResponseHead h;
  h.status = stored.status;
  h.headers = update_stored_fields(stored.headers, not_modified.headers);
  h.content_length = stored.body_size;
  return h;
}

void LeaderSink::set_head(ResponseHead head, Wake wake) {
  response_time_ = clock_.now();
  response_wall_ = std::time(nullptr);
  if (!has_field(head.headers, "Date")) head.headers.emplace_back("Date", format_http_date(response_wall_));

  const bool validated = request_.validating && head.status == 304;
  if (validated) {
    // §4.3.4: an entity-tag in the 304 names the stored response it is about; another one validates nothing we have.
    const std::string_view etag = field_value(head.headers, "ETag");
    if (!etag.empty() && opaque(etag) != opaque(request_.validating->etag)) {
      mismatch_ = true;
      return;
    }
    head = updated_from_304(head);
    not_modified_ = true;
  }

  // Who else may use it: a response a shared cache could store (for the forwarded
  // request), or an upstream failure (5xx: one answer for all, never one per viewer).
  const FreshnessDecision d = decide_freshness(
      ResponseFacts{head.status, &head.headers, request_.path, {}, request_.authorization, response_wall_,
                    response_delay()},
      freshness_);
  auto rule = std::make_shared<ShareRule>();
  rule->shared = d.storable || (head.status >= 500 && !d.personal);
  rule->vary = forwarded_vary(d.vary, config_->upstream.strip_request_headers);
  if (!rule->vary.empty()) rule->leader_values = vary_values(rule->vary, request_.forwarded);
  rule->strip = d.strip;
  rule_ = rule;
  if (!rule->shared && d.request_specific) {
    rule->retry = true;
    coalescer_.finish(request_.key, fetch_);  // new misses lead anew (a no-op for a fetch of one request's own)
  } else if (!rule->shared && !request_.no_store && freshness_.hit_for_miss.count() > 0) {
    coalescer_.mark_uncacheable(request_.key, response_time_ + freshness_.hit_for_miss, response_time_);
  }
  fetch_->set_share_rule(std::move(rule));

  if (!validated) {
    fetch_->set_head(std::move(head), wake);
    return;
  }
  fetch_->set_head(std::move(head), Wake::later);
  for (const auto& chunk : request_.validating->body) fetch_->append_chunk(chunk);
  fetch_->commit(0, Wake::now);
}

std::pair<char*, std::size_t> LeaderSink::writable() {
  if (not_modified_ || mismatch_) return {scratch_, sizeof scratch_};  // a 304 has no body; anything is dropped
  return fetch_->writable();
}

void LeaderSink::commit(std::size_t n, Wake wake) {
  if (not_modified_ || mismatch_) return;
  fetch_->commit(n, wake);
}

void LeaderSink::append(std::string_view bytes) {
  if (not_modified_ || mismatch_) return;
  fetch_->append(bytes);
}

void LeaderSink::append_chunk(const Chunk& chunk) {
  if (not_modified_ || mismatch_) return;
  fetch_->append_chunk(chunk);
}

void LeaderSink::complete() {
  if (mismatch_) return;  // the caller fetches again
  fetch_->complete();
}

void LeaderSink::fail(Error error) {
  if (mismatch_) return;
  fetch_->fail(std::move(error));
}

std::uint64_t LeaderSink::published() const { return fetch_->published(); }

void LeaderSink::reset_for_unconditional() {
  request_time_ = clock_.now();  // the age calculation counts from the request that is answered
  mismatch_ = false;
  not_modified_ = false;
  request_.validating.reset();
}

}  // namespace hlscache
