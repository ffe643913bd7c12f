// The memory broker: the shared engine suite (twice: expiry found lazily on access, and
// expiry found by sweep()) plus what only the memory engine promises: no allocation for
// channels without history, bounded sweeps, synchronous callbacks, stop().
#include "broker/memory/memory_broker.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/broker_suite.hpp"
#include "broker/memory/memory_presence.hpp"

namespace gyre {
namespace {

using broker_test::engine_suite_params;

engine_suite_params memory_params(std::string name, bool sweep) {
  engine_suite_params p;
  p.name = std::move(name);
  p.make_broker = [](clock& c) -> std::unique_ptr<broker> {
    return std::make_unique<memory_broker>(c);
  };
  p.make_presence = [](clock&) -> std::unique_ptr<presence_manager> {
    return std::make_unique<memory_presence>();
  };
  p.time = broker_test::suite_time::manual;
  if (sweep) p.after_time_step = [](broker& b) { static_cast<memory_broker&>(b).sweep(); };
  return p;
}

GYRE_INSTANTIATE_ENGINE_SUITE(memory, memory_params("lazy_expiry", false),
                              memory_params("swept_expiry", true));

publish_options history_opts(uint32_t size = 10, uint32_t ttl = 60, uint32_t meta_ttl = 600) {
  publish_options o;
  o.history_size = size;
  o.history_ttl_seconds = ttl;
  o.history_meta_ttl_seconds = meta_ttl;
  return o;
}

// Publishes synchronously: the memory broker completes inside the call.
publish_outcome publish_now(memory_broker& b, const std::string& ch, const publish_options& o,
                            std::string data = "x") {
  publish_outcome out;
  bool called = false;
  publication pub;
  pub.data = std::move(data);
  b.publish(ch, std::move(pub), o, [&](result<publish_outcome> r) {
    called = true;
    EXPECT_TRUE(r.ok());
    if (r.ok()) out = std::move(r).value();
  });
  EXPECT_TRUE(called) << "memory broker callbacks run inside the call";
  return out;
}

history_page history_now(memory_broker& b, const std::string& ch, int32_t limit = -1) {
  history_page page;
  history_query q;
  q.limit = limit;
  q.meta_ttl_seconds = 600;
  b.history(ch, q, [&](result<history_page> r) {
    ASSERT_TRUE(r.ok());
    page = std::move(r).value();
  });
  return page;
}

class counting_handler final : public broker_event_handler {
 public:
  void on_publication(std::shared_ptr<const delivered_publication>) override { ++publications; }
  void on_join(std::string_view, const client_info&) override {}
  void on_leave(std::string_view, const client_info&) override {}
  int publications = 0;
};

TEST(memory_broker, channel_without_history_allocates_no_stream) {
  manual_clock clk;
  memory_broker b(clk);
  counting_handler h;
  b.start(h);
  for (int i = 0; i < 100; ++i) publish_now(b, "live:" + std::to_string(i), publish_options{});
  EXPECT_EQ(h.publications, 100);
  EXPECT_EQ(b.stream_count(), 0u);
  publish_options idem;
  idem.idempotency_key = "k";
  publish_now(b, "live:0", idem);
  EXPECT_EQ(b.stream_count(), 0u);
  EXPECT_EQ(b.idempotency_result_count(), 1u);
  b.stop();
}

TEST(memory_broker, sweep_drops_expired_streams_without_access) {
  manual_clock clk;
  memory_broker b(clk);
  for (int i = 0; i < 100; ++i) publish_now(b, "ch:" + std::to_string(i), history_opts(10, 5, 20));
  EXPECT_EQ(b.stream_count(), 100u);
  clk.advance_ms(6'000);
  b.sweep();  // content expired: streams stay for their metadata
  EXPECT_EQ(b.stream_count(), 100u);
  EXPECT_TRUE(history_now(b, "ch:1").publications.empty());
  EXPECT_EQ(history_now(b, "ch:1").top.offset, 1u);
  clk.advance_ms(15'000);
  b.sweep();
  // ch:1 was read at 6 s with a 600 s meta TTL; every other stream is gone.
  EXPECT_EQ(b.stream_count(), 1u);
}

TEST(memory_broker, sweep_work_is_bounded_and_resumes) {
  manual_clock clk;
  memory_broker b(clk, memory_broker::options{.stripes = 16, .sweep_budget = 10'000});
  for (int i = 0; i < 100; ++i) publish_now(b, "ch:" + std::to_string(i), history_opts(10, 1, 1));
  clk.advance_ms(2'000);
  EXPECT_EQ(b.sweep(30), 30u);
  EXPECT_EQ(b.stream_count(), 70u);
  EXPECT_EQ(b.sweep(30), 30u);
  EXPECT_EQ(b.stream_count(), 40u);
  EXPECT_EQ(b.sweep(), 40u);
  EXPECT_EQ(b.stream_count(), 0u);
  EXPECT_EQ(b.sweep(), 0u);
}

TEST(memory_broker, sweep_keeps_streams_that_were_published_to_again) {
  manual_clock clk;
  memory_broker b(clk);
  publish_now(b, "hot", history_opts(10, 2, 4));
  for (int i = 0; i < 10; ++i) {  // publish every second for 10 s, sweeping as the server does
    clk.advance_ms(1'000);
    b.sweep();
    publish_now(b, "hot", history_opts(10, 2, 4));
  }
  const auto page = history_now(b, "hot");
  EXPECT_EQ(page.top.offset, 11u);
  EXPECT_EQ(page.publications.size(), 10u);
}

TEST(memory_broker, shorter_ttl_on_a_later_publish_is_honoured_by_sweep) {
  manual_clock clk;
  memory_broker b(clk);
  publish_now(b, "ch", history_opts(10, 100, 100));
  publish_now(b, "ch", history_opts(10, 1, 2));
  clk.advance_ms(3'000);
  b.sweep();
  EXPECT_EQ(b.stream_count(), 0u);
}

TEST(memory_broker, touching_an_expired_stream_without_sweep_frees_it) {
  manual_clock clk;
  memory_broker b(clk);
  publish_now(b, "ch", history_opts(10, 1, 2));
  clk.advance_ms(3'000);
  b.remove_history("ch", nullptr);
  EXPECT_EQ(b.stream_count(), 0u) << "remove_history does not resurrect expired metadata";
  publish_now(b, "ch", history_opts(10, 1, 2));
  clk.advance_ms(3'000);
  const auto page = history_now(b, "ch");
  EXPECT_EQ(page.top.offset, 0u);
  EXPECT_EQ(b.stream_count(), 1u);
  b.sweep();
  EXPECT_EQ(b.stream_count(), 1u) << "the read made fresh metadata; stale heap entries are skipped";
}

TEST(memory_broker, idempotency_results_are_swept) {
  manual_clock clk;
  memory_broker b(clk);
  publish_options o;
  o.idempotent_result_ttl_seconds = 2;
  for (int i = 0; i < 50; ++i) {
    o.idempotency_key = "k" + std::to_string(i);
    publish_now(b, "ch", o);
  }
  EXPECT_EQ(b.idempotency_result_count(), 50u);
  clk.advance_ms(1'000);
  b.sweep();
  EXPECT_EQ(b.idempotency_result_count(), 50u);
  // A key re-used after expiry is stored again with a fresh TTL and survives the old entry.
  clk.advance_ms(1'500);
  o.idempotency_key = "k0";
  EXPECT_FALSE(publish_now(b, "ch", o).suppressed);
  b.sweep();
  EXPECT_EQ(b.idempotency_result_count(), 1u);
  EXPECT_TRUE(publish_now(b, "ch", o).suppressed);
  clk.advance_ms(2'000);
  b.sweep();
  EXPECT_EQ(b.idempotency_result_count(), 0u);
}

TEST(memory_broker, idempotency_keys_are_per_channel_within_one_stripe) {
  manual_clock clk;
  memory_broker b(clk, memory_broker::options{.stripes = 1, .sweep_budget = 100});
  publish_options o;
  o.idempotency_key = "k";
  EXPECT_FALSE(publish_now(b, "a", o).suppressed);
  EXPECT_FALSE(publish_now(b, "b", o).suppressed) << "same length, same stripe, other channel";
  EXPECT_TRUE(publish_now(b, "a", o).suppressed);
  // A naive "channel_key" composite would make these two the same entry.
  o.idempotency_key = "c";
  EXPECT_FALSE(publish_now(b, "x_y", o).suppressed);
  o.idempotency_key = "y_c";
  EXPECT_FALSE(publish_now(b, "x", o).suppressed);
}

TEST(memory_broker, works_before_start_without_delivering) {
  manual_clock clk;
  memory_broker b(clk);
  EXPECT_EQ(publish_now(b, "ch", history_opts()).position.offset, 1u);
  counting_handler h;
  b.start(h);
  EXPECT_EQ(publish_now(b, "ch", history_opts()).position.offset, 2u);
  EXPECT_EQ(h.publications, 1);
  b.stop();
}

TEST(memory_broker, calls_after_stop_fail_synchronously) {
  manual_clock clk;
  memory_broker b(clk);
  counting_handler h;
  b.start(h);
  b.stop();
  int errors_seen = 0;
  b.publish("ch", publication{}, history_opts(), [&](result<publish_outcome> r) {
    EXPECT_EQ(r.error(), errors::internal);
    ++errors_seen;
  });
  b.history("ch", history_query{}, [&](result<history_page> r) { errors_seen += !r.ok(); });
  b.remove_history("ch", [&](status s) { errors_seen += !s.ok(); });
  b.publish_leave("ch", client_info{}, [&](status s) { errors_seen += !s.ok(); });
  EXPECT_EQ(errors_seen, 4);
  EXPECT_EQ(h.publications, 0);
}

TEST(memory_broker, empty_callbacks_are_allowed) {
  manual_clock clk;
  memory_broker b(clk);
  b.publish("ch", publication{}, history_opts(), nullptr);
  b.publish_join("ch", client_info{}, nullptr);
  b.remove_history("ch", nullptr);
  EXPECT_EQ(history_now(b, "ch").top.offset, 1u);
}

}  // namespace
}  // namespace gyre
