// libFuzzer target for the tags filter (src/protocol/tags_filter.hpp). Builds a filter_node
// tree from the input (valid and invalid ops/cmps, vals, nesting beyond the limits), then
// checks: compile() succeeds exactly when validate_filter() accepts; compiled evaluation
// agrees with a naive reference interpreter (written independently below) on tags built
// from the rest of the input. Nothing may crash.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/tags_filter.hpp"

namespace {

using gyre::tags_map;
using gyre::protocol::compiled_filter;
using gyre::protocol::filter_limits;
using gyre::protocol::filter_node;

constexpr size_t max_built_nodes = 3000;  // keeps one input fast; above max_nodes (1000)

std::string pick_value(FuzzedDataProvider& p) {
  // clang-format off
  static const char* pool[] = {
      "", "1", "10.5", "-3", "abc", "1e3", "007", "-0", "0.0", "+2", ".5", "5.", "a", "news",
      "x y", "-1.25", "1.2345678901234567890", "9999999999999999999999"};
  // clang-format on
  if (p.ConsumeBool()) return pool[p.ConsumeIntegralInRange<size_t>(0, std::size(pool) - 1)];
  return p.ConsumeRandomLengthString(12);
}

std::string pick_key(FuzzedDataProvider& p) {
  static const char* keys[] = {"a", "b", "c", ""};
  if (p.ConsumeIntegralInRange(0, 7) != 0) return keys[p.ConsumeIntegralInRange(0, 3)];
  return p.ConsumeRandomLengthString(4);
}

filter_node build(FuzzedDataProvider& p, size_t depth, size_t& built) {
  static const char* ops[] = {"", "", "", "and", "or", "not", "xor", "AND"};
  static const char* cmps[] = {"eq", "neq", "in",  "nin", "ex",  "nex", "sw", "ew",
                               "ct", "gt",  "gte", "lt",  "lte", "",    "EQ", "like"};
  filter_node n;
  ++built;
  n.op = ops[p.ConsumeIntegralInRange<size_t>(0, std::size(ops) - 1)];
  const bool leafish = n.op.empty() || p.ConsumeIntegralInRange(0, 15) == 0;
  if (leafish) {
    n.cmp = cmps[p.ConsumeIntegralInRange<size_t>(0, std::size(cmps) - 1)];
    n.key = pick_key(p);
    if (p.ConsumeBool()) n.val = pick_value(p);
    const int vals = p.ConsumeIntegralInRange(0, 4);
    for (int i = 0; i < vals; ++i) n.vals.push_back(pick_value(p));
  }
  const bool with_children = !n.op.empty() || p.ConsumeIntegralInRange(0, 31) == 0;
  if (with_children && depth < 40) {
    const int children = p.ConsumeIntegralInRange(0, 4);
    for (int i = 0; i < children && built < max_built_nodes && p.remaining_bytes() > 0; ++i) {
      n.nodes.push_back(build(p, depth + 1, built));
    }
  }
  return n;
}

// ---- reference interpreter: straightforward, independent of the implementation ----

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A decimal as a fixed-width comparable key: sign + 201-digit integer part + 19-digit
// fraction, or nullopt when not a number.
std::optional<std::pair<bool, std::string>> ref_number(std::string_view s) {
  if (s.empty() || s.size() > 200) return std::nullopt;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  std::string_view int_part = s, frac;
  if (auto dot = s.find('.'); dot != std::string_view::npos) {
    int_part = s.substr(0, dot);
    frac = s.substr(dot + 1);
    if (!all_digits(frac) || frac.size() > 19) return std::nullopt;
  }
  if (!all_digits(int_part)) return std::nullopt;
  std::string key = std::string(201 - int_part.size(), '0') + std::string(int_part) +
                    std::string(frac) + std::string(19 - frac.size(), '0');
  if (key.find_first_not_of('0') == std::string::npos) neg = false;
  return std::make_pair(neg, key);
}

int ref_compare(const std::pair<bool, std::string>& a, const std::pair<bool, std::string>& b) {
  if (a.first != b.first) return a.first ? -1 : 1;
  const int c = a.second.compare(b.second);
  const int m = c < 0 ? -1 : (c > 0 ? 1 : 0);
  return a.first ? -m : m;
}

bool ref_eval(const filter_node& n, const tags_map& tags) {
  if (n.op == "and") {
    for (const auto& c : n.nodes) {
      if (!ref_eval(c, tags)) return false;
    }
    return true;
  }
  if (n.op == "or") {
    for (const auto& c : n.nodes) {
      if (ref_eval(c, tags)) return true;
    }
    return false;
  }
  if (n.op == "not") return !ref_eval(n.nodes[0], tags);
  const std::string* v = nullptr;
  for (const auto& [k, val] : tags) {
    if (k == n.key) {
      v = &val;
      break;
    }
  }
  const std::string value = v ? *v : "";
  const bool in_vals = std::find(n.vals.begin(), n.vals.end(), value) != n.vals.end();
  if (n.cmp == "eq") return v && value == n.val;
  if (n.cmp == "neq") return !v || value != n.val;
  if (n.cmp == "in") return in_vals;
  if (n.cmp == "nin") return !in_vals;
  if (n.cmp == "ex") return v;
  if (n.cmp == "nex") return !v;
  if (n.cmp == "sw") {
    return v && value.size() >= n.val.size() && value.compare(0, n.val.size(), n.val) == 0;
  }
  if (n.cmp == "ew") {
    return v && value.size() >= n.val.size() &&
           value.compare(value.size() - n.val.size(), n.val.size(), n.val) == 0;
  }
  if (n.cmp == "ct") return v && value.find(n.val) != std::string::npos;
  if (!v) return false;
  const auto a = ref_number(value), b = ref_number(n.val);
  if (!a || !b) return false;
  const int c = ref_compare(*a, *b);
  if (n.cmp == "gt") return c > 0;
  if (n.cmp == "gte") return c >= 0;
  if (n.cmp == "lt") return c < 0;
  return c <= 0;  // lte
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  filter_limits limits;
  if (p.ConsumeBool()) {
    limits.max_depth = p.ConsumeIntegralInRange<size_t>(1, 40);
    limits.max_nodes = p.ConsumeIntegralInRange<size_t>(1, 1200);
  }
  size_t built = 0;
  const filter_node root = build(p, 1, built);

  const auto err = gyre::protocol::validate_filter(root, limits);
  std::string why;
  const auto compiled = compiled_filter::compile(root, limits, &why);
  if (compiled.ok() == err.has_value()) __builtin_trap();
  if (!compiled.ok()) {
    if (why != *err || why.empty()) __builtin_trap();
    return 0;
  }

  for (int round = 0; round < 4; ++round) {
    tags_map tags;
    const int n = p.ConsumeIntegralInRange(0, 5);
    for (int i = 0; i < n; ++i) tags.emplace_back(pick_key(p), pick_value(p));
    if (compiled->matches(tags) != ref_eval(root, tags)) __builtin_trap();
  }
  return 0;
}
