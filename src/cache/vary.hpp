// Vary (RFC 9111 §4.1): a response that varies on request fields is stored once
// per combination of their values. The key itself holds a Vary marker (the field
// names and the variants stored, bounded by cache.max_variants — a new variant
// replaces the oldest), and each variant is an object under variant_key(key, values).
// Values are compared after normalization: all lines of a field joined as one
// list, members trimmed; a field absent is not the same as a field empty.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cache/object.hpp"

namespace hlscache {

// Whether a miss forwards request field `name` upstream: not the hop-by-hop ones,
// Host, framing, Expect, the conditionals and Range (the cache makes its own), nor
// those in `strip` (upstream.strip_request_headers). One list for the miss path and
// for Vary: a field that is never forwarded cannot make the upstream's answer vary.
bool forwarded_request_field(std::string_view name, const std::vector<std::string>& strip);
// `names` without the fields that are never forwarded (Vary: Accept-Encoding is no
// variation when Accept-Encoding is stripped: one object, no marker).
std::vector<std::string> forwarded_vary(const std::vector<std::string>& names, const std::vector<std::string>& strip);

// The normalized values of `names` (lowercase field names) in `request`.
std::string vary_values(const std::vector<std::string>& names, const std::vector<Header>& request);
// Where the variant with `values` of `key` is stored ('\n' cannot occur in a request target).
std::string variant_key(std::string_view key, std::string_view values);

// The marker to store at a key after a variant with `values` is stored: `previous`'s
// variants (if it varies on the same names) plus this one, the oldest dropped beyond
// `max_variants` (their values land in `evicted`); live until at least `variant_expires`.
ObjectPtr make_vary_marker(const Object* previous, const std::vector<std::string>& names, const std::string& values,
                           TimePoint variant_expires, std::size_t max_variants, std::vector<std::string>& evicted);

}  // namespace hlscache
