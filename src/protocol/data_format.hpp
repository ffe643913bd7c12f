// data_format: the `publication_data_format` rule (Centrifugo option: "", json, json_object,
// binary) applied to a publication's data, for client publishes and the server API alike.
//
// - ""          : any non-empty data.
// - json        : exactly one valid JSON value (whitespace around it allowed).
// - json_object : valid JSON whose first and last non-whitespace bytes are '{' and '}'.
// - binary      : anything, empty included.
// Validation is simdjson's (strict UTF-8 inside strings, nesting up to 1024 levels); a
// number is checked against JSON's grammar only, whatever its magnitude (like Go's
// json.Valid, which Centrifugo uses).
//
// Threading: any thread; each thread keeps one simdjson parser whose buffers grow to the
// largest data it validated, up to 1 MiB of data (about 10 MiB of buffers), and are reused,
// so a check allocates nothing in steady state; after larger data they are freed.
#pragma once

#include <string_view>

namespace gyre::protocol {

// Whether `data` is exactly one valid JSON value (whitespace around it allowed): the rule of
// `json` above, and the one check of "is this JSON" on the data path (e.g. token b64data
// that a JSON connection is to carry).
bool valid_json(std::string_view data);

// Whether `data` is acceptable under publication_data_format `format` (unknown formats are
// refused by config validation and treated here like "").
bool publication_data_valid(std::string_view format, std::string_view data);

}  // namespace gyre::protocol
