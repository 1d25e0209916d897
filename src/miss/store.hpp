// What a complete upstream answer leaves in the cache: the freshness decision (RFC
// 9111 §3, §4.2, RFC 9213), the Object built from the Fetch's head and chunks (no
// body copy; a gzip copy for a playlist when configured), the insert under the key or
// the variant key with its Vary marker rebuilt — or, when the answer may not be
// stored, the copy it was revalidating erased. Before the insert the restart watch
// (stream_restart.hpp) compares it with the copy it replaces. A media playlist also
// tells the live edge (live_edge.hpp) where its stream stands.
#pragma once

#include "cache/cache.hpp"
#include "coalesce/coalescer.hpp"
#include "coalesce/fetch.hpp"
#include "config/config.hpp"
#include "miss/leader_sink.hpp"
#include "miss/live_edge.hpp"

#include <atomic>
#include <cstdint>

namespace hlscache {

// `stream_restarts` counts the restarts the watch found (purges).
void store_answer(Cache& cache, Coalescer& coalescer, const Config& cfg, const LeaderSink& sink, const Fetch& fetch,
                  TimePoint now, std::atomic<std::uint64_t>& stream_restarts, LiveEdges& live_edges);

}  // namespace hlscache
