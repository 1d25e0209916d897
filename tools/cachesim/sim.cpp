#include "cachesim/sim.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <queue>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "cache/object.hpp"
#include "core/chunk.hpp"

namespace hlscache::cachesim {
namespace {

Error bad(std::string msg) { return Error::make(ErrorSource::config, Errc::invalid_argument, std::move(msg)); }

std::optional<double> to_double(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (std::size_t pos = 0;;) {
    const std::size_t end = s.find(sep, pos);
    parts.push_back(s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return parts;
    pos = end + 1;
  }
}

// A charge-only object: one chunk descriptor whose capacity is the body size.
ObjectPtr make_sim_object(std::uint64_t size) {
  auto o = std::make_shared<Object>();
  o->body.push_back(Chunk{nullptr, 0, static_cast<std::size_t>(size)});
  o->body_size = size;
  o->fresh_until = o->stale_until = TimePoint::max();
  return o;
}

}  // namespace

Result<SizeDist> SizeDist::parse(std::string_view spec) {
  const auto parts = split(spec, ':');
  std::vector<double> args;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto v = to_double(parts[i]);
    if (!v) return bad("size distribution '" + std::string(spec) + "': '" + std::string(parts[i]) + "' is not a number");
    args.push_back(*v);
  }
  SizeDist d;
  if (parts[0] == "fixed" && args.size() == 1 && args[0] >= 1) {
    d = {Kind::fixed, args[0], 0};
  } else if (parts[0] == "uniform" && args.size() == 2 && args[0] >= 1 && args[0] <= args[1]) {
    d = {Kind::uniform, args[0], args[1]};
  } else if (parts[0] == "lognormal" && args.size() == 2 && args[1] >= 0) {
    d = {Kind::lognormal, args[0], args[1]};
  } else {
    return bad("size distribution '" + std::string(spec) +
               "': expected fixed:N (N >= 1), uniform:A:B (1 <= A <= B) or lognormal:MU:SIGMA (SIGMA >= 0)");
  }
  return d;
}

std::uint64_t SizeDist::sample(std::mt19937_64& rng) const {
  switch (kind) {
    case Kind::fixed: return static_cast<std::uint64_t>(a);
    case Kind::uniform:
      return std::uniform_int_distribution<std::uint64_t>(static_cast<std::uint64_t>(a),
                                                          static_cast<std::uint64_t>(b))(rng);
    case Kind::lognormal: {
      const double v = std::round(std::lognormal_distribution<double>(a, b)(rng));
      return v < 1 ? 1 : v > 1e15 ? static_cast<std::uint64_t>(1e15) : static_cast<std::uint64_t>(v);
    }
  }
  return 1;
}

ZipfSampler::ZipfSampler(std::uint32_t n, double alpha) : cdf_(n) {
  double sum = 0;
  for (std::uint32_t k = 0; k < n; ++k) cdf_[k] = (sum += std::pow(double(k) + 1, -alpha));
  for (double& c : cdf_) c /= sum;
}

std::uint32_t ZipfSampler::operator()(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  return static_cast<std::uint32_t>(std::min<std::ptrdiff_t>(it - cdf_.begin(), cdf_.size() - 1));
}

Trace generate_zipf(const ZipfSpec& spec) {
  Trace t;
  std::mt19937_64 rng(spec.seed);
  t.keys.reserve(spec.objects);
  t.sizes.reserve(spec.objects);
  char buf[32];
  for (std::uint32_t i = 0; i < spec.objects; ++i) {
    std::snprintf(buf, sizeof buf, "/z/%010u", i);  // equal lengths (equal metadata), short enough for SSO
    t.keys.emplace_back(buf);
    t.sizes.push_back(spec.sizes.sample(rng));
  }
  const ZipfSampler zipf(spec.objects, spec.alpha);
  t.requests.resize(spec.requests);
  for (auto& r : t.requests) r = zipf(rng);
  return t;
}

Result<Trace> read_trace(std::istream& in) {
  Trace t;
  std::unordered_map<std::string, std::uint32_t> ids;
  std::string line;
  for (std::uint64_t line_no = 1; std::getline(in, line); ++line_no) {
    std::istringstream fields(line);
    std::string key, size_text, extra;
    if (!(fields >> key) || key[0] == '#') continue;
    std::uint64_t size = 0;
    if (!(fields >> size_text) || (fields >> extra))
      return bad("trace line " + std::to_string(line_no) + ": expected 'key size'");
    auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
    if (ec != std::errc() || p != size_text.data() + size_text.size())
      return bad("trace line " + std::to_string(line_no) + ": size '" + size_text + "' is not a byte count");
    auto [it, added] = ids.try_emplace(key, static_cast<std::uint32_t>(t.keys.size()));
    if (added) {
      t.keys.push_back(key);
      t.sizes.push_back(size);
    } else if (t.sizes[it->second] != size) {
      ++t.size_mismatches;
    }
    if (t.requests.size() >= kNever - 1) return bad("trace: more than 2^32 - 2 requests");
    t.requests.push_back(it->second);
  }
  if (in.bad()) return bad("trace: read error");
  return t;
}

std::vector<std::uint64_t> charges(const Trace& trace) {
  std::vector<std::uint64_t> c(trace.keys.size());
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = make_sim_object(trace.sizes[i])->charge(trace.keys[i].size());
  return c;
}

std::uint64_t working_set_bytes(const Trace& trace) {
  const auto c = charges(trace);
  std::vector<bool> seen(c.size());
  std::uint64_t total = 0;
  for (std::uint32_t id : trace.requests)
    if (!seen[id]) {
      seen[id] = true;
      total += c[id];
    }
  return total;
}

SimResult simulate(PolicyKind policy, const Trace& trace, std::uint64_t capacity_bytes) {
  std::vector<ObjectPtr> objects;
  objects.reserve(trace.keys.size());
  for (std::uint64_t s : trace.sizes) objects.push_back(make_sim_object(s));
  Cache cache(policy, capacity_bytes, 1);
  const TimePoint now{};
  SimResult r;
  for (std::uint32_t id : trace.requests) {
    const std::string& key = trace.keys[id];
    ++r.requests;
    r.bytes_requested += trace.sizes[id];
    if (cache.lookup(key, now).state != LookupState::miss) {
      ++r.hits;
      r.bytes_hit += trace.sizes[id];
    } else {
      (void)cache.insert(key, objects[id], now);
    }
  }
  r.rejected_too_large = cache.stats().rejected_too_large;
  return r;
}

std::vector<std::uint32_t> next_uses(const Trace& trace) {
  std::vector<std::uint32_t> next(trace.requests.size(), kNever);
  std::vector<std::uint32_t> seen_at(trace.keys.size(), kNever);
  for (std::size_t i = trace.requests.size(); i-- > 0;) {
    const std::uint32_t id = trace.requests[i];
    next[i] = seen_at[id];
    seen_at[id] = static_cast<std::uint32_t>(i);
  }
  return next;
}

SimResult simulate_belady(const Trace& trace, const std::vector<std::uint32_t>& next,
                          std::uint64_t capacity_bytes) {
  const auto cost = charges(trace);
  // Max-heap of (next use, id) with lazy deletion: an entry is live only while
  // the object is cached and the entry's next use is still the object's.
  std::priority_queue<std::pair<std::uint32_t, std::uint32_t>> heap;
  std::vector<std::uint32_t> cached_next(trace.keys.size());
  std::vector<bool> cached(trace.keys.size());
  std::uint64_t used = 0;
  SimResult r;
  for (std::size_t i = 0; i < trace.requests.size(); ++i) {
    const std::uint32_t id = trace.requests[i];
    ++r.requests;
    r.bytes_requested += trace.sizes[id];
    if (cached[id]) {
      ++r.hits;
      r.bytes_hit += trace.sizes[id];
    } else if (cost[id] > capacity_bytes) {
      ++r.rejected_too_large;
      continue;
    } else {
      cached[id] = true;
      used += cost[id];
    }
    cached_next[id] = next[i];
    heap.emplace(next[i], id);
    while (used > capacity_bytes) {
      const auto [when, victim] = heap.top();
      heap.pop();
      if (!cached[victim] || cached_next[victim] != when) continue;  // stale entry
      cached[victim] = false;
      used -= cost[victim];
    }
  }
  return r;
}

}  // namespace hlscache::cachesim
