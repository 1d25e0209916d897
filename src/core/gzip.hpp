// gzip (RFC 1952) compression of a whole small body with zlib — used once per
// playlist version so clients that accept gzip get it without per-request work.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hlscache {

std::optional<std::string> gzip_compress(std::string_view input, int level = 6);
std::optional<std::string> gzip_decompress(std::string_view input, std::size_t max_output);  // for tests and tools

}  // namespace hlscache
