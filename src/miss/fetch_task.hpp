// The task behind one upstream fetch. The source writes into a LeaderSink in front of
// the Fetch; a 304 about another representation is followed by one unconditional
// fetch; a complete answer is stored (store.hpp). Then — however the task ends:
// complete, failed, by an exception, or with its frame destroyed when its io_context
// goes — its FetchOwner fails a Fetch left without an answer (every waiter gets a
// clean error, never a hang) and gives back what the coalescer lent it: the key's
// in-flight entry (a coalesced fetch; after the insert, so a miss in between finds the
// object) or a private fetch's slot. The task is owned by the coalescer's entry, not
// by the client that started it: a client that goes does not take the fetch with it.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

#include "cache/cache.hpp"
#include "coalesce/coalescer.hpp"
#include "coalesce/fetch.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "miss/leader_sink.hpp"
#include "miss/live_edge.hpp"
#include "source/source.hpp"

namespace hlscache {

struct FetchTask {
  ConfigPtr config;  // the snapshot the miss runs under
  SourceRequest request;
  std::shared_ptr<LeaderSink> sink;
  FetchPtr fetch;
  bool coalesced = true;  // the key's in-flight entry (else a private fetch's slot)
};

struct FetchDeps {
  Cache& cache;
  Coalescer& coalescer;
  Source& source;
  const Clock& clock;
  std::atomic<std::uint64_t>& stream_restarts;  // the restart watch's count (store.hpp)
  LiveEdges& live_edges;                         // told of every media playlist stored
};

void spawn_fetch(const boost::asio::any_io_executor& ex, FetchDeps deps, FetchTask task);

}  // namespace hlscache
