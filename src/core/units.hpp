// Parsing of operator-written quantities: byte sizes ("512MiB", "64k", "1GB")
// and durations ("250ms", "2s", "1m", "1h", "1.5s"). Binary (KiB/MiB/GiB) and
// decimal (KB/MB/GB) suffixes are both accepted; a bare number is bytes / seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace hlscache {

using Millis = std::chrono::milliseconds;

Result<std::uint64_t> parse_byte_size(std::string_view text);
Result<Millis> parse_duration(std::string_view text);

// The inverse, for printing a normalized config: "512MiB", "2s", "250ms".
std::string format_byte_size(std::uint64_t bytes);
std::string format_duration(Millis d);

}  // namespace hlscache
