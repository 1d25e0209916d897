// LeaderSink: what a miss's Source writes into, in front of the coalescer's Fetch.
// When the head arrives it decides who may use the answer (RFC 9111 §3 and §4:
// only a response a shared cache could store is handed to collapsed requests, and
// only to those whose Vary'd fields match; an upstream error too, unless it is
// someone's own) and publishes that ShareRule with the head; an answer nobody else
// may use marks the key hit-for-miss — unless it was refused for the leader's own
// request (Authorization, §3.5): then the key is released at once and the followers
// miss again, coalescing among themselves. When the fetch
// was a conditional revalidation and the answer is 304, it publishes the stored
// response it validated instead, its header fields updated from the 304 (§4.3.4),
// its body chunks shared, not copied — followers never see the 304. It also adds
// the Date an upstream left out (RFC 9110 §6.6.1) and records when the head came,
// for the age calculation (§4.2.3).
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "cache/freshness.hpp"
#include "cache/object.hpp"
#include "coalesce/coalescer.hpp"
#include "coalesce/fetch.hpp"
#include "core/response_sink.hpp"

namespace hlscache {

// What the leader's request looked like, as far as storing and sharing go.
struct LeaderRequest {
  std::string key;                 // the coalescer's key (the normalized cache key)
  std::string store_key;           // where `validating` (or the object this replaces) is stored: key or a variant key
  std::string path;                // for the freshness rules
  std::vector<Header> forwarded;   // the request fields sent upstream (Vary is matched on them)
  bool authorization = false;      // it carried Authorization (RFC 9111 §3.5)
  bool no_store = false;           // it carried Cache-Control: no-store: nothing of it is stored (§5.2.1.5)
  bool ahead_of_live = false;      // a segment ahead of its stream's live edge (live_edge.hpp)
  ObjectPtr validating;            // a stored response whose validators the request carries
};

class LeaderSink final : public ResponseSink {
 public:
  LeaderSink(FetchPtr fetch, LeaderRequest request, ConfigPtr config, Coalescer& coalescer, const Clock& clock);

  void interim(int status, std::vector<Header> headers) override;
  void set_head(ResponseHead head, Wake wake = Wake::now) override;
  std::pair<char*, std::size_t> writable() override;
  void commit(std::size_t n, Wake wake = Wake::now) override;
  void append(std::string_view bytes) override;
  void append_chunk(const Chunk& chunk) override;
  void complete() override;
  void fail(Error error) override;
  std::uint64_t published() const override;

  // After the source is done:
  bool not_modified() const { return not_modified_; }  // a 304 refreshed `validating`
  // A 304 whose strong ETag is not the one sent: it validates nothing we have (§4.3.4).
  // Nothing was published; the caller fetches again without conditionals (reset() first).
  bool validator_mismatch() const { return mismatch_; }
  void reset_for_unconditional();
  const ShareRule* share_rule() const { return rule_.get(); }
  std::time_t response_wall() const { return response_wall_; }  // when the head came (our clock)
  TimePoint response_time() const { return response_time_; }
  Duration response_delay() const { return response_time_ - request_time_; }
  const LeaderRequest& request() const { return request_; }

 private:
  ResponseHead updated_from_304(const ResponseHead& not_modified) const;

  const FetchPtr fetch_;
  LeaderRequest request_;
  const ConfigPtr config_;  // the snapshot the miss runs under, kept for as long as the sink
  const FreshnessConfig& freshness_;
  Coalescer& coalescer_;
  const Clock& clock_;
  TimePoint request_time_;
  TimePoint response_time_{};
  std::time_t response_wall_ = 0;
  std::shared_ptr<const ShareRule> rule_;
  bool not_modified_ = false;  // publishing the validated object: the source's (empty) body is dropped
  bool mismatch_ = false;
  char scratch_[256];
};

// RFC 9111 §3.2: the stored fields, each field the 304 carries replacing the stored
// lines of that name — except framing and coding (Content-Length, Content-Encoding,
// Transfer-Encoding, Content-Range: the stored body is what it is) and Age.
std::vector<Header> update_stored_fields(const std::vector<Header>& stored, const std::vector<Header>& from_304);

}  // namespace hlscache
