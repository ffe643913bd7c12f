// The common config tree: every file format is converted into a boost::json::value, and
// env/flag overrides are written into that same tree before it is mapped to structs.
//
// What holds:
//  * parse_tree lower-cases every object key (viper does, so key matching is
//    case-insensitive) and returns an object at the root (an empty file = empty object).
//  * YAML plain scalars are typed like YAML 1.2's core schema (bool, null, int, float,
//    else string); quoted scalars are always strings. TOML dates/times become strings.
//  * Errors are returned, never thrown. No text crashes or hangs the parser: nesting
//    deeper than 64 levels (YAML, TOML; JSON stops at Boost.JSON's 32) and YAML alias
//    expansion beyond 4096 + 16 nodes per byte of text are errors, checked before the
//    recursive walks (toml++'s and ours) could exhaust the stack.
//
// Private to src/config.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "config/file_format.hpp"

namespace gyre::config::detail {

namespace json = boost::json;

// Parses `text` in `fmt`; on failure returns false and sets `error`.
bool parse_tree(std::string_view text, file_format fmt, json::value& out, std::string& error);

// Copy of `v` with all object keys lower-cased (later duplicates win).
json::value lower_keys(const json::value& v);

// Renders a tree. JSON is pretty-printed with 2-space indent; YAML block style; TOML with
// nested tables. A trailing newline is always present.
std::string render_tree(const json::value& v, file_format fmt);

}  // namespace gyre::config::detail
