// Tree ⇄ struct mapping, driven by the schema in schema.hpp.
//
//  * decode_config: tree (lower-cased keys) → config. Weak typing as Centrifugo's decoder:
//    "8000" is an int, "1"/"true" a bool, a scalar where a list is expected is a
//    one-element list, a bare number where a duration is expected is nanoseconds. A
//    zero value (0, "", false, [], {}) keeps the default, as the spec's default
//    handling does. Unknown keys are reported with their full path; type errors name
//    the key (`channel.namespaces[1].history_ttl: invalid duration "5x"`).
//  * encode_config: config → tree, every key present (for `defaultconfig`).
//  * config_leaves: every settable key path and its value kind, for env vars and flags.
//
// Private to src/config.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/detail/tree.hpp"

namespace gyre::config::detail {

enum class leaf_kind {
  scalar,        // string, bool, integer, duration: env text is taken as is
  string_list,   // env: space-separated
  string_map,    // env: JSON object
  object_array,  // env: JSON array (named arrays also: space-separated names)
  raw,           // env: JSON
};

struct leaf {
  std::vector<std::string> path;
  leaf_kind kind = leaf_kind::scalar;
  // For object arrays: the leaves of one element, relative to the element.
  std::shared_ptr<const std::vector<leaf>> element_leaves;
};

// All leaves of `config`, in schema order. Object arrays are leaves themselves (their
// elements are not expanded).
const std::vector<leaf>& config_leaves();

struct decode_report {
  std::vector<std::string> errors;        // "path: message"
  std::vector<std::string> unknown_keys;  // full paths
};

void decode_config(const json::value& root, config& out, decode_report& report);

json::value encode_config(const config& c);

// "a.b[2].c" style path joining.
std::string join_key(const std::string& parent, std::string_view key);

}  // namespace gyre::config::detail
