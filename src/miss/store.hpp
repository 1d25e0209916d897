// What a complete upstream answer leaves in the cache: the freshness decision (RFC
// 9111 §3, §4.2, RFC 9213), the Object built from the Fetch's head and chunks (no
// body copy; a gzip copy for a playlist when configured), the insert under the key or
// the variant key with its Vary marker rebuilt — or, when the answer may not be
// stored, the copy it was revalidating erased.
#pragma once

#include "cache/cache.hpp"
#include "coalesce/coalescer.hpp"
#include "coalesce/fetch.hpp"
#include "config/config.hpp"
#include "miss/leader_sink.hpp"

namespace hlscache {

void store_answer(Cache& cache, Coalescer& coalescer, const Config& cfg, const LeaderSink& sink, const Fetch& fetch,
                  TimePoint now);

}  // namespace hlscache
