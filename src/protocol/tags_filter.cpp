// Tags filter validation, compilation and evaluation; see tags_filter.hpp and
// client-protocol.md §4.14.
#include "protocol/tags_filter.hpp"

#include <algorithm>

namespace gyre::protocol {
namespace {

// Same bounds as Centrifugo's decimal parser.
constexpr size_t max_number_length = 200;
constexpr size_t max_fraction_digits = 19;
// User-supplied strings quoted in error messages are cut to this many bytes.
constexpr size_t max_quoted = 32;

enum class cmp_class : uint8_t { unknown, single_val, multi_val, no_val };

cmp_class classify_cmp(std::string_view cmp) {
  if (cmp == "eq" || cmp == "neq" || cmp == "sw" || cmp == "ew" || cmp == "ct" || cmp == "gt" ||
      cmp == "gte" || cmp == "lt" || cmp == "lte") {
    return cmp_class::single_val;
  }
  if (cmp == "in" || cmp == "nin") return cmp_class::multi_val;
  if (cmp == "ex" || cmp == "nex") return cmp_class::no_val;
  return cmp_class::unknown;
}

std::string quoted(std::string_view s) {
  std::string r = "\"";
  r.append(s.substr(0, max_quoted));
  if (s.size() > max_quoted) r.append("...");
  r.push_back('"');
  return r;
}

struct validator {
  const filter_limits& limits;
  size_t nodes = 0;

  std::optional<std::string> check(const filter_node& n, size_t depth) {
    if (depth > limits.max_depth) {
      return "filter is nested deeper than " + std::to_string(limits.max_depth) + " levels";
    }
    if (++nodes > limits.max_nodes) {
      return "filter has more than " + std::to_string(limits.max_nodes) + " nodes";
    }
    if (n.op.empty()) return check_leaf(n);
    if (n.op == "and" || n.op == "or") {
      if (n.nodes.empty()) return n.op + " node must have at least one child";
    } else if (n.op == "not") {
      if (n.nodes.size() != 1) return std::string("not node must have exactly one child");
    } else {
      return "unknown filter op " + quoted(n.op);
    }
    for (const filter_node& child : n.nodes) {
      if (auto err = check(child, depth + 1)) return err;
    }
    return std::nullopt;
  }

  static std::optional<std::string> check_leaf(const filter_node& n) {
    if (n.cmp.empty()) return std::string("leaf node must have cmp set");
    switch (classify_cmp(n.cmp)) {
      case cmp_class::unknown:
        return "unknown filter cmp " + quoted(n.cmp);
      case cmp_class::single_val:
        if (n.val.empty()) return n.cmp + " comparison requires val";
        if (!n.vals.empty()) return n.cmp + " comparison must not use vals";
        break;
      case cmp_class::multi_val:
        if (n.vals.empty()) return n.cmp + " comparison requires non-empty vals";
        if (!n.val.empty()) return n.cmp + " comparison must not use val";
        break;
      case cmp_class::no_val:
        if (!n.val.empty() || !n.vals.empty()) {
          return n.cmp + " comparison must not use val or vals";
        }
        break;
    }
    if (n.key.empty() && n.cmp != "ex" && n.cmp != "nex") {
      return n.cmp + " leaf node requires key";
    }
    if (!n.nodes.empty()) return std::string("leaf node must not have child nodes");
    return std::nullopt;
  }
};

// A parsed decimal number that points into the text it came from.
struct decimal_view {
  bool negative = false;
  std::string_view integer;   // no leading zeros
  std::string_view fraction;  // no trailing zeros
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Parses `[+-]?[0-9]+(\.[0-9]{1,19})?` (at most 200 characters); nullopt otherwise.
std::optional<decimal_view> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > max_number_length) return std::nullopt;
  decimal_view d;
  size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    d.negative = s[0] == '-';
    i = 1;
  }
  const size_t int_start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == int_start) return std::nullopt;
  d.integer = s.substr(int_start, i - int_start);
  if (i < s.size()) {
    if (s[i] != '.') return std::nullopt;
    const size_t frac_start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    const size_t frac_len = i - frac_start;
    if (i != s.size() || frac_len == 0 || frac_len > max_fraction_digits) return std::nullopt;
    d.fraction = s.substr(frac_start, frac_len);
  }
  while (!d.integer.empty() && d.integer.front() == '0') d.integer.remove_prefix(1);
  while (!d.fraction.empty() && d.fraction.back() == '0') d.fraction.remove_suffix(1);
  if (d.integer.empty() && d.fraction.empty()) d.negative = false;  // -0 == 0
  return d;
}

// Compares magnitudes of normalized decimals: -1, 0 or 1.
int compare_magnitude(const decimal_view& a, const decimal_view& b) {
  if (a.integer.size() != b.integer.size()) return a.integer.size() < b.integer.size() ? -1 : 1;
  if (int c = a.integer.compare(b.integer); c != 0) return c < 0 ? -1 : 1;
  // Without trailing zeros, fractions order lexicographically ("5" < "51", "05" < "5").
  if (int c = a.fraction.compare(b.fraction); c != 0) return c < 0 ? -1 : 1;
  return 0;
}

int compare_decimal(const decimal_view& a, const decimal_view& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  const int m = compare_magnitude(a, b);
  return a.negative ? -m : m;
}

const std::string* find_tag(const tags_map& tags, std::string_view key) {
  for (const auto& [k, v] : tags) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> validate_filter(const filter_node& root, const filter_limits& limits) {
  validator v{limits};
  return v.check(root, 1);
}

result<compiled_filter> compiled_filter::compile(const filter_node& root,
                                                 const filter_limits& limits, std::string* why) {
  if (auto err = validate_filter(root, limits)) {
    if (why) *why = std::move(*err);
    return errors::bad_request;
  }
  compiled_filter f;
  f.append(root);
  return f;
}

void compiled_filter::append(const filter_node& n) {
  const size_t index = nodes_.size();
  nodes_.emplace_back();
  {
    node& c = nodes_.back();
    if (n.op == "and") {
      c.k = kind::and_;
    } else if (n.op == "or") {
      c.k = kind::or_;
    } else if (n.op == "not") {
      c.k = kind::not_;
    } else {
      static constexpr std::pair<std::string_view, kind> cmps[] = {
          {"eq", kind::eq},   {"neq", kind::neq}, {"in", kind::in},   {"nin", kind::nin},
          {"ex", kind::ex},   {"nex", kind::nex}, {"sw", kind::sw},   {"ew", kind::ew},
          {"ct", kind::ct},   {"gt", kind::gt},   {"gte", kind::gte}, {"lt", kind::lt},
          {"lte", kind::lte},
      };
      for (const auto& [name, k] : cmps) {
        if (n.cmp == name) c.k = k;
      }
      c.key = n.key;
      c.val = n.val;
      if (c.k == kind::in || c.k == kind::nin) {
        c.vals = n.vals;
        std::sort(c.vals.begin(), c.vals.end());
        c.vals.erase(std::unique(c.vals.begin(), c.vals.end()), c.vals.end());
      }
      if (c.k == kind::gt || c.k == kind::gte || c.k == kind::lt || c.k == kind::lte) {
        if (auto d = parse_decimal(n.val)) {
          c.number = decimal{d->negative, std::string(d->integer), std::string(d->fraction)};
        }
      }
    }
  }
  // Children of a leaf are rejected by validation, so only and/or/not recurse here.
  for (const filter_node& child : n.nodes) append(child);
  nodes_[index].end = static_cast<uint32_t>(nodes_.size());
}

bool compiled_filter::matches(const tags_map& tags) const {
  return !nodes_.empty() && eval(0, tags);
}

bool compiled_filter::eval(uint32_t index, const tags_map& tags) const {
  const node& n = nodes_[index];
  switch (n.k) {
    case kind::and_:
      for (uint32_t c = index + 1; c < n.end; c = nodes_[c].end) {
        if (!eval(c, tags)) return false;
      }
      return true;
    case kind::or_:
      for (uint32_t c = index + 1; c < n.end; c = nodes_[c].end) {
        if (eval(c, tags)) return true;
      }
      return false;
    case kind::not_:
      return !eval(index + 1, tags);
    default:
      return eval_leaf(n, tags);
  }
}

bool compiled_filter::eval_leaf(const node& n, const tags_map& tags) const {
  const std::string* v = find_tag(tags, n.key);
  switch (n.k) {
    case kind::eq:
      return v && *v == n.val;
    case kind::neq:
      return !v || *v != n.val;
    case kind::in:
    case kind::nin: {
      const std::string_view value = v ? std::string_view(*v) : std::string_view();
      const bool found =
          std::binary_search(n.vals.begin(), n.vals.end(), value,
                             [](std::string_view a, std::string_view b) { return a < b; });
      return n.k == kind::in ? found : !found;
    }
    case kind::ex:
      return v != nullptr;
    case kind::nex:
      return v == nullptr;
    case kind::sw:
      return v && std::string_view(*v).starts_with(n.val);
    case kind::ew:
      return v && std::string_view(*v).ends_with(n.val);
    case kind::ct:
      return v && v->find(n.val) != std::string::npos;
    case kind::gt:
    case kind::gte:
    case kind::lt:
    case kind::lte: {
      if (!v || !n.number) return false;
      const auto lhs = parse_decimal(*v);
      if (!lhs) return false;
      const decimal_view rhs{n.number->negative, n.number->integer, n.number->fraction};
      const int c = compare_decimal(*lhs, rhs);
      switch (n.k) {
        case kind::gt:
          return c > 0;
        case kind::gte:
          return c >= 0;
        case kind::lt:
          return c < 0;
        default:
          return c <= 0;
      }
    }
    default:
      return false;
  }
}

}  // namespace gyre::protocol
