// cachesim's engine: request traces (read from text, or generated with Zipf
// popularity and a size distribution) replayed through the product's own Cache
// (one shard), plus the clairvoyant Belady bound (evict the object requested
// furthest in the future; next uses precomputed in one backward pass).
#pragma once

#include <cstdint>
#include <istream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cache/cache.hpp"
#include "core/result.hpp"

namespace hlscache::cachesim {

// Requests name objects by dense id; keys and sizes are per object.
struct Trace {
  std::vector<std::string> keys;        // id -> cache key
  std::vector<std::uint64_t> sizes;     // id -> body bytes (a key's first size in a file trace)
  std::vector<std::uint32_t> requests;  // the request sequence, as ids
  std::uint64_t size_mismatches = 0;    // file traces: later lines that gave a key another size
};

// "fixed:N" | "uniform:A:B" (inclusive) | "lognormal:MU:SIGMA" (bytes = round(e^N(mu, sigma)), >= 1).
struct SizeDist {
  enum class Kind { fixed, uniform, lognormal } kind = Kind::fixed;
  double a = 65536, b = 0;
  static Result<SizeDist> parse(std::string_view spec);
  std::uint64_t sample(std::mt19937_64& rng) const;
};

// Zipf popularity over ranks 0..n-1: P(rank k) proportional to 1 / (k+1)^alpha.
// Sampling is a binary search of the precomputed CDF.
class ZipfSampler {
 public:
  ZipfSampler(std::uint32_t n, double alpha);
  std::uint32_t operator()(std::mt19937_64& rng) const;

 private:
  std::vector<double> cdf_;
};

struct ZipfSpec {
  double alpha = 0.8;
  std::uint32_t objects = 100000;
  std::uint64_t requests = 2000000;
  SizeDist sizes;
  std::uint64_t seed = 1;
};
Trace generate_zipf(const ZipfSpec& spec);  // object id == popularity rank

// One "key size" per line; blank lines and lines starting with '#' are skipped.
Result<Trace> read_trace(std::istream& in);

// What the product charges for each object (Object::charge: body + metadata).
std::vector<std::uint64_t> charges(const Trace& trace);
// Sum of charges over the objects the trace actually requests.
std::uint64_t working_set_bytes(const Trace& trace);

struct SimResult {
  std::uint64_t requests = 0, hits = 0;
  std::uint64_t bytes_requested = 0, bytes_hit = 0;  // body bytes
  std::uint64_t rejected_too_large = 0;              // objects the cache refused to hold
  double hit_ratio() const { return requests ? double(hits) / double(requests) : 0.0; }
  double byte_hit_ratio() const { return bytes_requested ? double(bytes_hit) / double(bytes_requested) : 0.0; }
};

// Replays the trace through Cache(policy, capacity_bytes, 1 shard): lookup, and
// insert on a miss. Objects are charge-only (a chunk descriptor with the size, no bytes).
SimResult simulate(PolicyKind policy, const Trace& trace, std::uint64_t capacity_bytes);

inline constexpr std::uint32_t kNever = std::numeric_limits<std::uint32_t>::max();
// next[i] = index of the next request for the same object after i, or kNever.
std::vector<std::uint32_t> next_uses(const Trace& trace);

// Clairvoyant replacement with bypass: admit, then while over capacity drop the
// cached object (possibly the new one) whose next request is furthest away.
// Optimal for equal sizes; with variable sizes it ignores size and is the usual
// heuristic estimate of the optimum (the exact variable-size optimum is NP-hard).
SimResult simulate_belady(const Trace& trace, const std::vector<std::uint32_t>& next,
                          std::uint64_t capacity_bytes);

}  // namespace hlscache::cachesim
