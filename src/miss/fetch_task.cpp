#include "miss/fetch_task.hpp"

#include <boost/asio/co_spawn.hpp>

#include "core/http_fields.hpp"
#include "core/spawn.hpp"
#include "miss/store.hpp"

namespace hlscache {

namespace asio = boost::asio;

namespace {

class FetchOwner {
 public:
  FetchOwner(Coalescer& coalescer, std::string key, FetchPtr fetch, bool coalesced)
      : coalescer_(coalescer), key_(std::move(key)), fetch_(std::move(fetch)), coalesced_(coalesced) {}
  FetchOwner(const FetchOwner&) = delete;
  FetchOwner& operator=(const FetchOwner&) = delete;
  ~FetchOwner() {
    const Fetch::Phase p = fetch_->phase();
    if (p != Fetch::Phase::complete && p != Fetch::Phase::failed)
      fetch_->fail(Error::make(ErrorSource::internal, Errc::io, "the fetch ended without an answer"));
    if (coalesced_) coalescer_.finish(key_, fetch_);
    else coalescer_.release_private();
  }

 private:
  Coalescer& coalescer_;
  const std::string key_;
  const FetchPtr fetch_;
  const bool coalesced_;
};

asio::awaitable<void> run_fetch(FetchDeps d, FetchTask t) {
  FetchOwner owner(d.coalescer, t.sink->request().key, t.fetch, t.coalesced);
  co_await d.source.fetch(t.request, t.sink);
  if (t.sink->validator_mismatch()) {
    // The 304 was about another representation than ours: fetch it whole.
    t.sink->reset_for_unconditional();
    remove_field(t.request.headers, "If-None-Match");
    remove_field(t.request.headers, "If-Modified-Since");
    co_await d.source.fetch(t.request, t.sink);
  }
  if (t.fetch->phase() == Fetch::Phase::complete) {
    store_answer(d.cache, d.coalescer, *t.config, *t.sink, *t.fetch, d.clock.now(), d.stream_restarts, d.live_edges);
  } else if (t.fetch->phase() != Fetch::Phase::failed) {
    t.fetch->fail(Error::make(ErrorSource::internal, Errc::protocol, "source ended without completing the fetch"));
  }
}

}  // namespace

void spawn_fetch(const asio::any_io_executor& ex, FetchDeps deps, FetchTask task) {
  asio::co_spawn(ex, run_fetch(deps, std::move(task)), log_escape("upstream fetch"));
}

}  // namespace hlscache
