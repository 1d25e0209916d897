#include "core/units.hpp"
#include "core/strings.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace hlscache {

const char* to_string(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid argument";
    case Errc::not_found: return "not found";
    case Errc::timeout: return "timeout";
    case Errc::connect_failed: return "connect failed";
    case Errc::protocol: return "protocol error";
    case Errc::truncated: return "truncated";
    case Errc::too_large: return "too large";
    case Errc::overloaded: return "overloaded";
    case Errc::cancelled: return "cancelled";
    case Errc::upstream_status: return "upstream error status";
    case Errc::io: return "i/o error";
  }
  return "unknown";
}

const char* to_string(ErrorSource s) noexcept {
  switch (s) {
    case ErrorSource::internal: return "internal";
    case ErrorSource::upstream: return "upstream";
    case ErrorSource::downstream: return "downstream";
    case ErrorSource::config: return "config";
  }
  return "unknown";
}

std::string Error::describe() const {
  return fmt::format("{} {}: {}{}", to_string(source), to_string(code), message,
                     retryable ? " (retryable)" : "");
}

namespace {


// Splits "12.5MiB" into 12.5 and "MiB".
bool split_number(std::string_view s, double& number, std::string_view& unit) {
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + i, number);
  if (ec != std::errc{} || ptr != s.data() + i) return false;
  unit = trim(s.substr(i));
  return true;
}


}  // namespace

Result<std::uint64_t> parse_byte_size(std::string_view text) {
  auto s = trim(text);
  double n = 0;
  std::string_view unit;
  auto bad = [&](const char* why) {
    return Error::make(ErrorSource::config, Errc::invalid_argument,
                       fmt::format("'{}' is not a byte size ({}; e.g. 512MiB, 64KiB, 1GB)", text, why));
  };
  if (!split_number(s, n, unit)) return bad("no number");
  struct Suffix { std::string_view name; double factor; };
  static constexpr Suffix suffixes[] = {
      {"", 1}, {"b", 1},
      {"k", 1024.0}, {"kib", 1024.0}, {"kb", 1e3},
      {"m", 1048576.0}, {"mib", 1048576.0}, {"mb", 1e6},
      {"g", 1073741824.0}, {"gib", 1073741824.0}, {"gb", 1e9},
      {"t", 1099511627776.0}, {"tib", 1099511627776.0}, {"tb", 1e12},
  };
  for (const auto& sfx : suffixes) {
    if (iequal(unit, sfx.name)) {
      double bytes = n * sfx.factor;
      if (bytes > 9.0e18) return bad("too large");
      return static_cast<std::uint64_t>(std::llround(bytes));
    }
  }
  return bad("unknown unit");
}

Result<Millis> parse_duration(std::string_view text) {
  auto s = trim(text);
  double n = 0;
  std::string_view unit;
  auto bad = [&](const char* why) {
    return Error::make(ErrorSource::config, Errc::invalid_argument,
                       fmt::format("'{}' is not a duration ({}; e.g. 250ms, 2s, 1.5s, 5m, 1h)", text, why));
  };
  if (!split_number(s, n, unit)) return bad("no number");
  double ms_per = 0;
  if (unit.empty() || unit == "s") ms_per = 1000;
  else if (unit == "ms") ms_per = 1;
  else if (unit == "m" || unit == "min") ms_per = 60'000;
  else if (unit == "h") ms_per = 3'600'000;
  else if (unit == "d") ms_per = 86'400'000;
  else return bad("unknown unit");
  double ms = n * ms_per;
  if (ms > 1e15) return bad("too large");
  return Millis(static_cast<Millis::rep>(std::llround(ms)));
}

std::string format_byte_size(std::uint64_t bytes) {
  static constexpr std::pair<std::uint64_t, const char*> units[] = {
      {1ull << 40, "TiB"}, {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
  for (auto [factor, name] : units)
    if (bytes >= factor && bytes % factor == 0) return fmt::format("{}{}", bytes / factor, name);
  return fmt::format("{}B", bytes);
}

std::string format_duration(Millis d) {
  auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace hlscache
