// json_scan: small helpers over simdjson's On-Demand API shared by the JSON decoders
// (client protocol commands, server API requests): full validation of a value, and the
// exact text of a value for `bytes` fields that are passed through verbatim.
//
// This header includes simdjson: include it only from .cpp files that parse JSON.
// Threading: pure functions.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

namespace gyre::protocol::json_scan {

namespace od = simdjson::ondemand;

// Nesting bound for validated values: no input can exhaust the stack.
inline constexpr int max_value_depth = 256;

std::string_view trim(std::string_view s);
// RFC 8259 number grammar, on the token text.
bool is_json_number(std::string_view s);
// Validates `v` completely (descends into arrays and objects).
bool validate(od::value& v, int depth = 0);
// The exact text of `v` (a member of an object or an array element), trimmed of
// surrounding whitespace; `null` leaves `out` unchanged (null equals absent). False when
// the value is not valid JSON.
bool read_raw(od::value& v, std::string& out);
// True when nothing but whitespace follows the root value of `doc`.
bool at_end(od::document& doc);

}  // namespace gyre::protocol::json_scan
