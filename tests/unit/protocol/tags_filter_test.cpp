#include "protocol/tags_filter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gyre::protocol {
namespace {

filter_node leaf(std::string key, std::string cmp, std::string val = "") {
  filter_node n;
  n.key = std::move(key);
  n.cmp = std::move(cmp);
  n.val = std::move(val);
  return n;
}

filter_node leaf_vals(std::string key, std::string cmp, std::vector<std::string> vals) {
  filter_node n;
  n.key = std::move(key);
  n.cmp = std::move(cmp);
  n.vals = std::move(vals);
  return n;
}

filter_node op(std::string name, std::vector<filter_node> children) {
  filter_node n;
  n.op = std::move(name);
  n.nodes = std::move(children);
  return n;
}

bool eval(const filter_node& f, const tags_map& tags) {
  std::string why;
  auto c = compiled_filter::compile(f, {}, &why);
  EXPECT_TRUE(c.ok()) << why;
  return c.ok() && c->matches(tags);
}

const tags_map tags = {{"type", "news"}, {"lang", "en"},          {"price", "10.5"},
                       {"count", "-3"},  {"name", "gyre-server"}, {"empty", ""}};

TEST(tags_filter, eq_and_neq) {
  EXPECT_TRUE(eval(leaf("type", "eq", "news"), tags));
  EXPECT_FALSE(eval(leaf("type", "eq", "sport"), tags));
  EXPECT_FALSE(eval(leaf("missing", "eq", "news"), tags));  // absent is never equal
  EXPECT_FALSE(eval(leaf("type", "neq", "news"), tags));
  EXPECT_TRUE(eval(leaf("type", "neq", "sport"), tags));
  EXPECT_TRUE(eval(leaf("missing", "neq", "news"), tags));  // absent differs
  EXPECT_FALSE(eval(leaf("type", "eq", "News"), tags));     // case-sensitive
}

TEST(tags_filter, in_and_nin_treat_absent_as_empty_string) {
  EXPECT_TRUE(eval(leaf_vals("lang", "in", {"de", "en"}), tags));
  EXPECT_FALSE(eval(leaf_vals("lang", "in", {"de", "fr"}), tags));
  EXPECT_FALSE(eval(leaf_vals("lang", "nin", {"en"}), tags));
  EXPECT_TRUE(eval(leaf_vals("lang", "nin", {"de", "fr"}), tags));
  EXPECT_FALSE(eval(leaf_vals("missing", "in", {"x"}), tags));
  EXPECT_TRUE(eval(leaf_vals("missing", "in", {"x", ""}), tags));
  EXPECT_TRUE(eval(leaf_vals("missing", "nin", {"x"}), tags));
  EXPECT_FALSE(eval(leaf_vals("missing", "nin", {""}), tags));
  EXPECT_TRUE(eval(leaf_vals("empty", "in", {""}), tags));
  // Many values, duplicates and unsorted input.
  std::vector<std::string> many;
  for (int i = 500; i > 0; --i) many.push_back("v" + std::to_string(i % 250));
  many.push_back("en");
  EXPECT_TRUE(eval(leaf_vals("lang", "in", many), tags));
  EXPECT_FALSE(eval(leaf_vals("type", "in", many), tags));
  EXPECT_TRUE(eval(leaf_vals("type", "nin", many), tags));
}

TEST(tags_filter, ex_and_nex) {
  EXPECT_TRUE(eval(leaf("type", "ex"), tags));
  EXPECT_TRUE(eval(leaf("empty", "ex"), tags));  // present with an empty value
  EXPECT_FALSE(eval(leaf("missing", "ex"), tags));
  EXPECT_FALSE(eval(leaf("type", "nex"), tags));
  EXPECT_TRUE(eval(leaf("missing", "nex"), tags));
  // ex/nex may omit the key: they then test the tag named "".
  EXPECT_FALSE(eval(leaf("", "ex"), tags));
  EXPECT_TRUE(eval(leaf("", "nex"), tags));
  EXPECT_TRUE(eval(leaf("", "ex"), {{"", "x"}}));
}

TEST(tags_filter, sw_ew_ct) {
  EXPECT_TRUE(eval(leaf("name", "sw", "gyre"), tags));
  EXPECT_FALSE(eval(leaf("name", "sw", "server"), tags));
  EXPECT_TRUE(eval(leaf("name", "ew", "server"), tags));
  EXPECT_FALSE(eval(leaf("name", "ew", "gyre"), tags));
  EXPECT_TRUE(eval(leaf("name", "ct", "re-se"), tags));
  EXPECT_TRUE(eval(leaf("name", "ct", "gyre-server"), tags));
  EXPECT_FALSE(eval(leaf("name", "ct", "gyre-server!"), tags));
  for (const char* cmp : {"sw", "ew", "ct"}) {
    EXPECT_FALSE(eval(leaf("missing", cmp, "x"), tags)) << cmp;
  }
}

TEST(tags_filter, numeric_comparisons) {
  EXPECT_TRUE(eval(leaf("price", "gt", "10"), tags));
  EXPECT_FALSE(eval(leaf("price", "gt", "10.5"), tags));
  EXPECT_TRUE(eval(leaf("price", "gte", "10.5"), tags));
  EXPECT_TRUE(eval(leaf("price", "gte", "10.50"), tags));  // trailing zeros do not matter
  EXPECT_TRUE(eval(leaf("price", "lt", "10.51"), tags));
  EXPECT_FALSE(eval(leaf("price", "lt", "10.5"), tags));
  EXPECT_TRUE(eval(leaf("price", "lte", "10.5"), tags));
  EXPECT_FALSE(eval(leaf("price", "lte", "9.99"), tags));
  EXPECT_TRUE(eval(leaf("price", "lt", "100"), tags));  // not a string comparison
  EXPECT_TRUE(eval(leaf("count", "lt", "0"), tags));
  EXPECT_TRUE(eval(leaf("count", "gt", "-4"), tags));
  EXPECT_FALSE(eval(leaf("count", "gt", "-2.5"), tags));
  EXPECT_TRUE(eval(leaf("count", "lt", "-2.999"), tags));
  EXPECT_TRUE(eval(leaf("count", "gte", "-3.0"), tags));
  // Absent key or a value that is not a decimal: false for every comparison.
  for (const char* cmp : {"gt", "gte", "lt", "lte"}) {
    EXPECT_FALSE(eval(leaf("missing", cmp, "1"), tags)) << cmp;
    EXPECT_FALSE(eval(leaf("type", cmp, "1"), tags)) << cmp;   // "news"
    EXPECT_FALSE(eval(leaf("empty", cmp, "1"), tags)) << cmp;  // ""
    EXPECT_FALSE(eval(leaf("price", cmp, "abc"), tags)) << cmp;
  }
}

TEST(tags_filter, decimal_grammar_and_exactness) {
  auto gt = [](std::string v, std::string val) { return eval(leaf("n", "gt", val), {{"n", v}}); };
  auto eq_num = [](std::string v, std::string val) {
    return eval(leaf("n", "gte", val), {{"n", v}}) && eval(leaf("n", "lte", val), {{"n", v}});
  };
  EXPECT_TRUE(eq_num("-0", "0"));
  EXPECT_TRUE(eq_num("+7", "007"));
  EXPECT_TRUE(eq_num("1.50", "1.5"));
  EXPECT_TRUE(eq_num("0.0", "-0.000"));
  EXPECT_TRUE(gt("0.1", "0.09"));
  EXPECT_TRUE(gt("0.1", "-0.2"));
  EXPECT_TRUE(gt("-0.1", "-0.2"));
  EXPECT_FALSE(gt("-0.2", "-0.1"));
  // Beyond double and 64-bit precision.
  EXPECT_TRUE(gt("9007199254740993", "9007199254740992"));
  EXPECT_TRUE(gt("123456789012345678901234567890", "123456789012345678901234567889"));
  EXPECT_TRUE(gt("0.0000000000000000002", "0.0000000000000000001"));
  // Not numbers (same grammar as Centrifugo's decimal parser): always false.
  for (const char* bad : {"1e3", ".5", "5.", "1.2.3", "0x10", " 1", "1 ", "NaN", "Inf", "+", "-",
                          "", "1_000", "--1", "0.12345678901234567890"}) {
    EXPECT_FALSE(gt(bad, "-1000")) << bad;
    EXPECT_FALSE(eval(leaf("n", "lt", "1000"), {{"n", bad}})) << bad;
    EXPECT_FALSE(gt("5", std::string(bad).empty() ? "x" : bad)) << bad;
  }
  EXPECT_TRUE(gt("0.1234567890123456789", "0"));  // 19 fraction digits is the maximum
  EXPECT_TRUE(gt(std::string(200, '9'), "1"));    // 200 characters is the maximum
  EXPECT_FALSE(gt(std::string(201, '9'), "1"));
}

TEST(tags_filter, and_or_not) {
  const auto is_news = leaf("type", "eq", "news");
  const auto is_en = leaf("lang", "eq", "en");
  const auto is_de = leaf("lang", "eq", "de");
  EXPECT_TRUE(eval(op("and", {is_news, is_en}), tags));
  EXPECT_FALSE(eval(op("and", {is_news, is_de}), tags));
  EXPECT_TRUE(eval(op("or", {is_de, is_news}), tags));
  EXPECT_FALSE(eval(op("or", {is_de, op("not", {is_news})}), tags));
  EXPECT_TRUE(eval(op("not", {is_de}), tags));
  EXPECT_TRUE(eval(op("and", {is_news}), tags));  // single child
  EXPECT_TRUE(eval(op("or", {is_en}), tags));
  // (type == news AND (lang in [de, fr] OR price > 10)) AND NOT (count >= 0)
  const auto nested = op(
      "and", {is_news, op("or", {leaf_vals("lang", "in", {"de", "fr"}), leaf("price", "gt", "10")}),
              op("not", {leaf("count", "gte", "0")})});
  EXPECT_TRUE(eval(nested, tags));
  tags_map other = tags;
  other[2].second = "9";  // price
  EXPECT_FALSE(eval(nested, other));
  EXPECT_TRUE(eval(op("not", {op("not", {op("not", {is_de})})}), tags));
  EXPECT_FALSE(eval(nested, {}));
}

TEST(tags_filter, compiled_filter_is_reusable) {
  auto c = compiled_filter::compile(op("or", {leaf("a", "eq", "1"), leaf("b", "ex")}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->node_count(), 3u);
  EXPECT_TRUE(c->matches({{"a", "1"}}));
  EXPECT_TRUE(c->matches({{"b", ""}}));
  EXPECT_FALSE(c->matches({{"a", "2"}}));
  EXPECT_FALSE(c->matches({}));
}

struct invalid_case {
  const char* name;
  filter_node node;
  const char* message_part;
};

TEST(tags_filter, invalid_trees_are_rejected_with_a_message) {
  filter_node leaf_with_child = leaf("a", "eq", "1");
  leaf_with_child.nodes.push_back(leaf("b", "ex"));
  filter_node eq_with_vals = leaf("a", "eq", "1");
  eq_with_vals.vals = {"x"};
  filter_node in_with_val = leaf_vals("a", "in", {"x"});
  in_with_val.val = "x";
  filter_node ex_with_vals = leaf("a", "ex");
  ex_with_vals.vals = {"x"};
  const std::vector<invalid_case> cases = {
      {"empty node", filter_node{}, "must have cmp"},
      {"unknown cmp", leaf("a", "like", "x"), "unknown filter cmp \"like\""},
      {"unknown op", op("xor", {leaf("a", "ex")}), "unknown filter op \"xor\""},
      {"op case", op("AND", {leaf("a", "ex")}), "unknown filter op"},
      {"eq without key", leaf("", "eq", "x"), "requires key"},
      {"in without key", leaf_vals("", "in", {"x"}), "requires key"},
      {"eq without val", leaf("a", "eq"), "requires val"},
      {"gt without val", leaf("a", "gt"), "requires val"},
      {"sw without val", leaf("a", "sw"), "requires val"},
      {"eq with vals", eq_with_vals, "must not use vals"},
      {"in without vals", leaf("a", "in"), "non-empty vals"},
      {"nin without vals", leaf("a", "nin"), "non-empty vals"},
      {"in with val", in_with_val, "must not use val"},
      {"ex with val", leaf("a", "ex", "x"), "must not use val"},
      {"nex with vals", ex_with_vals, "must not use val"},
      {"leaf with child", leaf_with_child, "must not have child"},
      {"empty and", op("and", {}), "at least one child"},
      {"empty or", op("or", {}), "at least one child"},
      {"empty not", op("not", {}), "exactly one child"},
      {"not with two", op("not", {leaf("a", "ex"), leaf("b", "ex")}), "exactly one child"},
      {"invalid deep child", op("and", {leaf("a", "ex"), op("or", {leaf("b", "zz", "1")})}),
       "unknown filter cmp"},
      {"long cmp is truncated", leaf("a", std::string(100, 'q'), "1"), "...\""},
  };
  for (const auto& c : cases) {
    const auto err = validate_filter(c.node);
    ASSERT_TRUE(err.has_value()) << c.name;
    EXPECT_NE(err->find(c.message_part), std::string::npos) << c.name << ": " << *err;
    EXPECT_LT(err->size(), 100u) << c.name;
    std::string why;
    auto compiled = compiled_filter::compile(c.node, {}, &why);
    ASSERT_FALSE(compiled.ok()) << c.name;
    EXPECT_EQ(compiled.error(), errors::bad_request);
    EXPECT_EQ(why, *err);
  }
}

TEST(tags_filter, depth_and_size_limits) {
  auto nested = [](size_t depth) {  // depth levels: depth-1 "not" nodes over a leaf
    filter_node n = leaf("a", "ex");
    for (size_t i = 1; i < depth; ++i) n = op("not", {std::move(n)});
    return n;
  };
  EXPECT_FALSE(validate_filter(nested(32)));
  const auto too_deep = validate_filter(nested(33));
  ASSERT_TRUE(too_deep);
  EXPECT_NE(too_deep->find("deeper than 32"), std::string::npos);
  EXPECT_TRUE(eval(nested(31), {{"a", "1"}}));  // 30 "not": even
  EXPECT_FALSE(validate_filter(nested(5), {.max_depth = 5}));
  EXPECT_TRUE(validate_filter(nested(6), {.max_depth = 5}));

  auto wide = [](size_t leaves) {
    std::vector<filter_node> children(leaves, leaf("a", "eq", "1"));
    return op("or", std::move(children));
  };
  EXPECT_FALSE(validate_filter(wide(999)));  // 1000 nodes
  const auto too_big = validate_filter(wide(1000));
  ASSERT_TRUE(too_big);
  EXPECT_NE(too_big->find("more than 1000 nodes"), std::string::npos);
  EXPECT_TRUE(validate_filter(wide(10), {.max_depth = 32, .max_nodes = 10}));
  auto c = compiled_filter::compile(wide(999));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->node_count(), 1000u);
  EXPECT_TRUE(c->matches({{"a", "1"}}));
  EXPECT_FALSE(c->matches({{"a", "2"}}));
}

}  // namespace
}  // namespace gyre::protocol
