// Publication tags filter (client-protocol.md §4.14): validation of a client's
// `filter_node` tree and a compiled form that is evaluated against the tags of every
// publication delivered to that subscriber.
//
// Validity (same rules as Centrifugo's, so a filter is accepted by both or by neither):
// - leaf (op ""): cmp is one of eq neq in nin ex nex sw ew ct gt gte lt lte;
//   key is required except for ex/nex;
//   eq neq sw ew ct gt gte lt lte need a non-empty `val` and no `vals`;
//   in/nin need non-empty `vals` and no `val`; ex/nex take neither.
//   Gyre also rejects a leaf with child nodes (Centrifugo ignores them).
// - "and"/"or": at least one child; "not": exactly one child; any other op is invalid.
// - At most filter_limits::max_depth levels and max_nodes nodes in all (server protection).
//
// Semantics (`v` = tags[key]):
//   eq: present and v == val          neq: absent or v != val
//   in: (present ? v : "") in vals     nin: not in vals
//   ex / nex: present / absent        sw / ew / ct: present and v starts with / ends with /
//                                                    contains val
//   gt gte lt lte: present, both v and val are decimal numbers, and the comparison holds;
//                  a side that is not a number makes the leaf false.
//   and / or / not: all / any / none of the children (short-circuit).
// Decimal numbers are `[+-]?[0-9]+(\.[0-9]{1,19})?`, at most 200 characters: exactly what
// Centrifugo's decimal parser (udecimal) accepts, so "10.5", "-3", "+007" are numbers and
// "1e3", ".5", "5.", "0x10", " 1", "NaN" are not. Comparison is exact at any magnitude
// ("-0" == "0", "1.50" == "1.5"), with no floating-point rounding.
//
// A compiled_filter is immutable after compile(): matches() may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/publication.hpp"
#include "core/result.hpp"
#include "protocol/client_messages.hpp"

namespace gyre::protocol {

struct filter_limits {
  // Nesting a client may send; real filters are a few levels deep, and both validation and
  // evaluation recurse once per level.
  size_t max_depth = 32;
  // Nodes in the whole tree: bounds per-publication evaluation cost for one subscriber.
  size_t max_nodes = 1000;
};

// nullopt when `root` is a valid filter, otherwise a short description of the first problem
// found (for logs and the error reply; user strings in it are truncated).
std::optional<std::string> validate_filter(const filter_node& root,
                                           const filter_limits& limits = {});

class compiled_filter {
 public:
  // Validates and compiles. On an invalid tree returns errors::bad_request (107, what the
  // spec asks for) and, when `why` is given, stores validate_filter's text there.
  static result<compiled_filter> compile(const filter_node& root, const filter_limits& limits = {},
                                         std::string* why = nullptr);

  bool matches(const tags_map& tags) const;

  size_t node_count() const { return nodes_.size(); }

 private:
  // clang-format off
  enum class kind : uint8_t {
    and_, or_, not_,                                          // inner nodes
    eq, neq, in, nin, ex, nex, sw, ew, ct, gt, gte, lt, lte,  // leaves, one per cmp
  };
  // clang-format on
  // A decimal as its significant parts: no leading zeros in `integer`, no trailing zeros
  // in `fraction`; zero is {false, "", ""}.
  struct decimal {
    bool negative = false;
    std::string integer;
    std::string fraction;
  };
  // Pre-order layout: a node's children follow it; `end` is the index after its subtree.
  struct node {
    kind k = kind::and_;
    uint32_t end = 0;
    std::string key;
    std::string val;
    std::vector<std::string> vals;  // in/nin: sorted, duplicates removed
    std::optional<decimal> number;  // gt/gte/lt/lte: parsed val (nullopt: not a number)
  };

  compiled_filter() = default;
  void append(const filter_node& n);
  bool eval(uint32_t index, const tags_map& tags) const;
  bool eval_leaf(const node& n, const tags_map& tags) const;

  std::vector<node> nodes_;
};

}  // namespace gyre::protocol
