// cachesim: replays a request trace through FIFO, LRU and S4LRU — the product's
// own Cache with one shard — at several cache sizes (fractions of the trace's
// working set) and prints object and byte hit ratios next to the Belady bound.
// Runs of (policy, size) are independent and spread over --jobs threads.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include <fmt/core.h>

#include "cachesim/sim.hpp"

namespace hlscache::cachesim {
namespace {

constexpr const char* kUsage =
    "usage: cachesim (--trace FILE | --zipf ALPHA [--objects N] [--requests N]\n"
    "                 [--size-dist fixed:N|uniform:A:B|lognormal:MU:SIGMA] [--seed S])\n"
    "                [--fractions F,...] [--policies fifo,lru,s4lru,belady] [--csv] [--jobs N]\n"
    "  --trace FILE     text trace, one 'key size' per line ('#' comments)\n"
    "  --zipf ALPHA     generated trace with Zipf(ALPHA) popularity (default sizes fixed:65536)\n"
    "  --fractions      cache sizes as fractions of the working set (default 0.01,0.02,0.05,0.1,0.2,0.5)\n"
    "  --csv            print policy,cache_fraction,hit_ratio,byte_hit_ratio rows\n";

struct Options {
  std::string trace_file;
  bool zipf = false;
  ZipfSpec spec;
  std::string size_spec = "fixed:65536";
  std::vector<double> fractions{0.01, 0.02, 0.05, 0.1, 0.2, 0.5};
  std::vector<std::string> policies{"fifo", "lru", "s4lru", "belady"};
  bool csv = false;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
};

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "cachesim: %s\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

template <class T>
T number(std::string_view opt, std::string_view text, T min, T max) {
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const long double v = std::strtold(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno != 0 || v < static_cast<long double>(min) ||
      v > static_cast<long double>(max) || (std::is_integral_v<T> && v != static_cast<long double>(static_cast<T>(v))))
    fail(fmt::format("{}: '{}' is not a number in [{}, {}]", opt, text, min, max));
  return static_cast<T>(v);
}

std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    out.push_back(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (a == "--csv") {
      o.csv = true;
      continue;
    }
    if (i + 1 >= argc) fail(fmt::format("{} needs a value", a));
    const std::string_view v = argv[++i];
    if (a == "--trace") {
      o.trace_file = v;
    } else if (a == "--zipf") {
      o.zipf = true;
      o.spec.alpha = number<double>(a, v, 0.0, 10.0);
    } else if (a == "--objects") {
      o.spec.objects = number<std::uint32_t>(a, v, 1, 100'000'000);
    } else if (a == "--requests") {
      o.spec.requests = number<std::uint64_t>(a, v, 1, 1'000'000'000);
    } else if (a == "--size-dist") {
      o.size_spec = v;
    } else if (a == "--seed") {
      o.spec.seed = number<std::uint64_t>(a, v, 0, std::numeric_limits<std::uint64_t>::max() / 2);
    } else if (a == "--jobs") {
      o.jobs = number<unsigned>(a, v, 1, 256);
    } else if (a == "--fractions") {
      o.fractions.clear();
      for (auto f : split_list(v)) o.fractions.push_back(number<double>(a, f, 1e-9, 1.0));
      if (o.fractions.empty()) fail("--fractions: empty list");
    } else if (a == "--policies") {
      o.policies.clear();
      for (auto p : split_list(v)) {
        if (p != "belady" && !parse_policy(p)) fail(fmt::format("--policies: unknown policy '{}'", p));
        o.policies.emplace_back(p);
      }
      if (o.policies.empty()) fail("--policies: empty list");
    } else {
      fail(fmt::format("unknown option '{}'", a));
    }
  }
  if (o.zipf == !o.trace_file.empty()) fail("give exactly one of --trace FILE or --zipf ALPHA");
  auto sizes = SizeDist::parse(o.size_spec);
  if (!sizes) fail(sizes.error().message);
  o.spec.sizes = *sizes;
  return o;
}

struct Job {
  std::string policy;
  double fraction = 0;
  std::uint64_t capacity = 0;
  SimResult result;
};

void run_jobs(std::vector<Job>& jobs, const Trace& trace, unsigned threads) {
  const bool need_next = std::any_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.policy == "belady"; });
  const std::vector<std::uint32_t> next = need_next ? next_uses(trace) : std::vector<std::uint32_t>{};
  std::atomic<std::size_t> cursor{0};
  auto worker = [&] {
    for (std::size_t j; (j = cursor.fetch_add(1)) < jobs.size();) {
      Job& job = jobs[j];
      job.result = job.policy == "belady" ? simulate_belady(trace, next, job.capacity)
                                          : simulate(*parse_policy(job.policy), trace, job.capacity);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < std::min<std::size_t>(threads, jobs.size()); ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

std::string human_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) v /= 1024, ++u;
  return fmt::format("{:.1f} {}", v, units[u]);
}

void print_table(const Options& o, const std::vector<Job>& jobs, bool bytes) {
  fmt::print("{}\n{:>9} {:>11}", bytes ? "Byte hit ratio" : "Hit ratio (objects)", "fraction", "cache");
  for (const auto& p : o.policies) fmt::print(" {:>7}", p);
  fmt::print("\n");
  for (std::size_t f = 0; f < o.fractions.size(); ++f) {
    fmt::print("{:>9} {:>11}", o.fractions[f], human_bytes(jobs[f * o.policies.size()].capacity));
    for (std::size_t p = 0; p < o.policies.size(); ++p) {
      const SimResult& r = jobs[f * o.policies.size() + p].result;
      fmt::print(" {:>6.2f}%", 100 * (bytes ? r.byte_hit_ratio() : r.hit_ratio()));
    }
    fmt::print("\n");
  }
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Trace trace;
  std::string source;
  if (o.zipf) {
    trace = generate_zipf(o.spec);
    source = fmt::format("zipf alpha={} objects={} requests={} sizes={} seed={}", o.spec.alpha, o.spec.objects,
                         o.spec.requests, o.size_spec, o.spec.seed);
  } else {
    std::ifstream in(o.trace_file);
    if (!in) fail(fmt::format("cannot open trace '{}'", o.trace_file));
    auto read = read_trace(in);
    if (!read) fail(read.error().message);
    trace = std::move(read).value();
    if (trace.requests.empty()) fail(fmt::format("trace '{}' has no requests", o.trace_file));
    source = fmt::format("file {} ({} requests)", o.trace_file, trace.requests.size());
  }
  const std::uint64_t working_set = working_set_bytes(trace);
  std::vector<Job> jobs;
  for (double f : o.fractions)
    for (const auto& p : o.policies)
      jobs.push_back({p, f, static_cast<std::uint64_t>(f * static_cast<double>(working_set)), {}});
  run_jobs(jobs, trace, o.jobs);

  if (o.csv) {
    fmt::print("policy,cache_fraction,hit_ratio,byte_hit_ratio\n");
    for (const Job& j : jobs) fmt::print("{},{},{:.6f},{:.6f}\n", j.policy, j.fraction, j.result.hit_ratio(),
                                         j.result.byte_hit_ratio());
    return 0;
  }
  std::uint64_t distinct = 0;
  {
    std::vector<bool> seen(trace.keys.size());
    for (auto id : trace.requests) distinct += seen[id] ? 0 : (seen[id] = true, 1);
  }
  fmt::print("trace: {}\n", source);
  fmt::print("distinct objects requested: {}, working set: {} (what the cache charges: body + metadata)\n",
             distinct, human_bytes(working_set));
  if (trace.size_mismatches) fmt::print("note: {} requests gave a key another size; its first size is used\n",
                                        trace.size_mismatches);
  fmt::print("\n");
  print_table(o, jobs, false);
  fmt::print("\n");
  print_table(o, jobs, true);
  for (const Job& j : jobs)
    if (j.policy != "belady" && j.result.rejected_too_large)
      fmt::print("note: {} at {} refused {} inserts as too large (larger than {})\n", j.policy, j.fraction,
                 j.result.rejected_too_large, j.policy == "s4lru" ? "a quarter of the cache" : "the cache");
  fmt::print("\nbelady: clairvoyant, evicts the object whose next request is furthest away (with bypass).\n"
             "Optimal for equal sizes. With variable sizes it ignores size, so it is then a heuristic\n"
             "estimate of the optimum, not a strict upper bound. Ratios include the cold start.\n");
  return 0;
}

}  // namespace
}  // namespace hlscache::cachesim

int main(int argc, char** argv) { return hlscache::cachesim::run(argc, argv); }
