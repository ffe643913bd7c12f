// api_executor over a node with the memory engine (no sockets): the method table, the
// dispatch, and the bounds of docs/design/server-api.md — a batch or broadcast over
// max_batch_commands runs nothing; read results beyond max_response_size become 106 while
// the results of writes are always reported.
#include "api/executor.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>

#include "hub/hub_fixture.hpp"
#include "protocol/json_object.hpp"

namespace gyre {
namespace {

using protocol::json_object;

class executor_test : public testing::hub_fixture {
 protected:
  // Runs `method` synchronously (the memory engine answers at once).
  api_outcome run(api_executor& exec, std::string_view method, std::string_view params) {
    std::optional<api_outcome> out;
    exec.execute(method, params, [&](api_outcome r) { out = std::move(r); });
    drain();
    EXPECT_TRUE(out.has_value()) << method << " did not answer";
    return out ? *out : api_outcome::failure(errors::internal);
  }

  uint64_t history_top(const std::string& channel) {
    std::optional<uint64_t> top;
    history_query q;
    broker_->history(channel, q, [&](result<history_page> r) { top = r ? r->top.offset : 0; });
    return top.value_or(0);
  }

  // A batch of `n` copies of `command` (a JSON object text).
  static std::string batch_of(size_t n, std::string_view command, bool parallel = false) {
    std::string s = parallel ? R"({"parallel":true,"commands":[)" : R"({"commands":[)";
    for (size_t i = 0; i < n; ++i) {
      if (i) s += ',';
      s += command;
    }
    return s + "]}";
  }
};

TEST_F(executor_test, the_method_table_is_consistent) {
  std::set<std::string_view> names;
  std::set<int> numbers;
  for (const api_method& m : api_executor::methods()) {
    EXPECT_TRUE(names.insert(m.name).second) << "duplicate " << m.name;
    if (m.legacy_number >= 0) {
      EXPECT_TRUE(numbers.insert(m.legacy_number).second) << m.name;
    }
    if (m.route || m.in_batch) {
      EXPECT_NE(m.run, nullptr) << m.name;
    }
    if (!m.run) {
      EXPECT_GE(m.legacy_number, 0) << m.name << ": a method nobody can reach";
    }
    EXPECT_EQ(api_executor::find(m.name), &m);
  }
  // The legacy numbering: 0..39 without 13.
  for (int n = 0; n <= 39; ++n) EXPECT_EQ(numbers.count(n), n == 13 ? 0u : 1u) << n;
  EXPECT_EQ(api_executor::find_legacy(0)->name, "publish");
  EXPECT_EQ(api_executor::find_legacy(11)->name, "subscribe");
  EXPECT_EQ(api_executor::find_legacy(39)->name, "shared_poll_publish");
  EXPECT_EQ(api_executor::find_legacy(13), nullptr);
  EXPECT_EQ(api_executor::find_legacy(40), nullptr);
  EXPECT_EQ(api_executor::find_legacy(-1), nullptr);
  EXPECT_FALSE(api_executor::find("batch")->in_batch);
  EXPECT_TRUE(api_executor::find("batch")->route);
  EXPECT_EQ(api_executor::find("connections")->run, nullptr);
  EXPECT_FALSE(api_executor::find("connections")->route);
  EXPECT_EQ(api_executor::find("Publish"), nullptr);
  EXPECT_TRUE(api_executor::find("history")->read_only);
  EXPECT_FALSE(api_executor::find("publish")->read_only);
}

TEST_F(executor_test, dispatches_by_name) {
  api_executor exec(*node_);
  api_outcome p = run(exec, "publish", R"({"channel":"a","data":{"x":1}})");
  ASSERT_TRUE(p.ok) << p.error.message;
  EXPECT_NE(p.result.find("\"offset\":1"), std::string::npos) << p.result;
  EXPECT_EQ(run(exec, "nosuch", "{}").error.code, 104u);
  EXPECT_EQ(run(exec, "connections", "{}").error.code, 104u);  // PRO: known, not served
  EXPECT_EQ(run(exec, "map_publish", "{}").error.code, 107u);  // no map namespaces
  api_outcome bad = run(exec, "publish", R"({"channel":5})");
  EXPECT_FALSE(bad.ok);
  EXPECT_TRUE(bad.malformed);
  EXPECT_EQ(bad.error.code, 107u);
}

TEST_F(executor_test, a_batch_command_with_several_methods_runs_the_first_in_table_order) {
  api_executor exec(*node_);
  api_outcome r =
      run(exec, "batch",
          R"({"commands":[{"history":{"channel":"b"},"publish":{"channel":"b","data":{}}}]})");
  ASSERT_TRUE(r.ok);
  EXPECT_NE(r.result.find(R"("publish":{"offset":1)"), std::string::npos) << r.result;
  EXPECT_EQ(history_top("b"), 1u);
}

TEST_F(executor_test, a_read_reply_over_the_budget_is_refused_with_106) {
  api_limits limits;
  limits.max_response_size = 2000;
  api_executor exec(*node_, limits);
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(publish("h", R"({"pad":")" + std::string(100, 'x') + "\"}"));
  api_outcome small = run(exec, "history", R"({"channel":"h","limit":5})");
  EXPECT_TRUE(small.ok) << small.error.message;
  api_outcome big = run(exec, "history", R"({"channel":"h","limit":50})");
  EXPECT_FALSE(big.ok);
  EXPECT_EQ(big.error.code, 106u);
  EXPECT_NE(big.error.message.find("max_response_size"), std::string::npos) << big.error.message;
}

TEST_F(executor_test, a_batch_over_max_batch_commands_runs_nothing) {
  api_limits limits;
  limits.max_batch_commands = 10;
  api_executor exec(*node_, limits);
  for (bool parallel : {false, true}) {
    api_outcome r =
        run(exec, "batch", batch_of(11, R"({"publish":{"channel":"c","data":{}}})", parallel));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.code, 106u);
    EXPECT_NE(r.error.message.find("11 commands"), std::string::npos) << r.error.message;
    EXPECT_EQ(history_top("c"), 0u);
  }
  api_outcome ok = run(exec, "batch", batch_of(10, R"({"publish":{"channel":"c","data":{}}})"));
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(history_top("c"), 10u);
}

TEST_F(executor_test, a_broadcast_over_max_batch_commands_publishes_nothing) {
  api_limits limits;
  limits.max_batch_commands = 3;
  api_executor exec(*node_, limits);
  api_outcome r = run(exec, "broadcast", R"({"channels":["d1","d2","d3","d4"],"data":{}})");
  EXPECT_EQ(r.error.code, 106u);
  EXPECT_EQ(history_top("d1"), 0u);
  EXPECT_TRUE(run(exec, "broadcast", R"({"channels":["d1","d2","d3"],"data":{}})").ok);
  EXPECT_EQ(history_top("d1"), 1u);
}

// 100 history reads of ~1.1 KB each and publishes in between, with a 10 KB budget:
// the reply stays near the budget, every publish is reported, the excess reads get 106.
TEST_F(executor_test, a_batch_reply_stays_within_max_response_size) {
  api_limits limits;
  limits.max_response_size = 10000;
  api_executor exec(*node_, limits);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(publish("e", R"({"pad":")" + std::string(100, 'x') + "\"}"));
  std::string commands;
  for (int i = 0; i < 100; ++i) {
    if (i) commands += ',';
    commands += i % 10 == 5 ? R"({"publish":{"channel":"f","data":{}}})"
                            : R"({"history":{"channel":"e","limit":10}})";
  }
  for (bool parallel : {false, true}) {
    const uint64_t before = history_top("f");
    api_outcome r =
        run(exec, "batch",
            std::string(parallel ? R"({"parallel":true,"commands":[)" : R"({"commands":[)") +
                commands + "]}");
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_LT(r.result.size(), limits.max_response_size + 100 * 120) << "parallel " << parallel;
    auto o = json_object::parse(r.result);
    ASSERT_TRUE(o);
    auto replies = protocol::split_array(*o->raw("replies"));
    ASSERT_TRUE(replies);
    ASSERT_EQ(replies->size(), 100u);
    size_t reads = 0, refused = 0, published = 0;
    for (const auto& text : *replies) {
      auto reply = json_object::parse(text);
      ASSERT_TRUE(reply);
      if (reply->raw("history")) ++reads;
      if (reply->raw("publish")) ++published;
      if (auto e = reply->raw("error")) {
        EXPECT_NE(e->find("106"), std::string_view::npos) << *e;
        ++refused;
      }
    }
    EXPECT_EQ(published, 10u);
    EXPECT_EQ(history_top("f"), before + 10);
    EXPECT_GT(reads, 0u);
    EXPECT_LE(reads, 9u);
    EXPECT_EQ(reads + refused, 90u);
  }
}

TEST_F(executor_test, batch_replies_in_order_with_per_command_errors) {
  api_executor exec(*node_);
  api_outcome r = run(exec, "batch",
                      R"({"commands":[{"publish":{"channel":"g","data":1}},null,{"nosuch":{}},)"
                      R"({"batch":{}},{"history":{"channel":5}},{"info":{}}]})");
  ASSERT_TRUE(r.ok);
  auto replies = protocol::split_array(*json_object::parse(r.result)->raw("replies"));
  ASSERT_TRUE(replies);
  ASSERT_EQ(replies->size(), 6u);
  EXPECT_NE((*replies)[0].find("\"publish\""), std::string::npos);
  EXPECT_NE((*replies)[1].find("107"), std::string::npos);
  EXPECT_NE((*replies)[2].find("104"), std::string::npos);
  EXPECT_NE((*replies)[3].find("104"), std::string::npos);  // no batch inside a batch
  EXPECT_NE((*replies)[4].find("107"), std::string::npos);
  EXPECT_NE((*replies)[5].find("\"info\""), std::string::npos);
  EXPECT_EQ(run(exec, "batch", R"({"commands":[]})").result, "{}");
  EXPECT_TRUE(run(exec, "batch", R"({"commands":{}})").malformed);
}

}  // namespace
}  // namespace gyre
