// The shared engine suite: helpers and the contract tests. See broker_suite.hpp.
#include "broker/broker_suite.hpp"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <utility>

#include "core/random.hpp"

namespace gyre::broker_test {

void PrintTo(const engine_suite_params& p, std::ostream* os) {
  *os << p.name;
}

std::string engine_suite_name(const ::testing::TestParamInfo<engine_suite_params>& info) {
  return info.param.name;
}

// ---------------------------------------------------------------------------------------
// recording_handler

void recording_handler::on_publication(std::shared_ptr<const delivered_publication> p) {
  std::lock_guard lock(mu_);
  pubs_.push_back(std::move(p));
  cv_.notify_all();
}

void recording_handler::on_join(std::string_view channel, const client_info& info) {
  std::lock_guard lock(mu_);
  joins_.push_back({std::string(channel), info});
  cv_.notify_all();
}

void recording_handler::on_leave(std::string_view channel, const client_info& info) {
  std::lock_guard lock(mu_);
  leaves_.push_back({std::string(channel), info});
  cv_.notify_all();
}

void recording_handler::on_subscriptions_restored(std::vector<std::string> channels) {
  std::lock_guard lock(mu_);
  restored_.push_back(std::move(channels));
  cv_.notify_all();
}

std::vector<std::vector<std::string>> recording_handler::restored() const {
  std::lock_guard lock(mu_);
  return restored_;
}

std::vector<std::shared_ptr<const delivered_publication>> recording_handler::publications(
    std::string_view channel) const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const delivered_publication>> out;
  for (const auto& p : pubs_) {
    if (channel.empty() || p->channel == channel) out.push_back(p);
  }
  return out;
}

std::vector<recording_handler::presence_event> recording_handler::joins() const {
  std::lock_guard lock(mu_);
  return joins_;
}

std::vector<recording_handler::presence_event> recording_handler::leaves() const {
  std::lock_guard lock(mu_);
  return leaves_;
}

uint64_t recording_handler::max_offset(std::string_view channel) const {
  std::lock_guard lock(mu_);
  uint64_t m = 0;
  for (const auto& p : pubs_) {
    if (p->channel == channel) m = std::max(m, p->pub.offset);
  }
  return m;
}

size_t recording_handler::count_locked(std::string_view channel) const {
  return static_cast<size_t>(std::count_if(pubs_.begin(), pubs_.end(), [&](const auto& p) {
    return channel.empty() || p->channel == channel;
  }));
}

bool recording_handler::wait_publications(std::string_view channel, size_t n,
                                          std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return count_locked(channel) >= n; });
}

bool recording_handler::wait_joins(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return joins_.size() >= n; });
}

bool recording_handler::wait_leaves(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return leaves_.size() >= n; });
}

// ---------------------------------------------------------------------------------------
// fixtures

engine_fixture_base::engine_fixture_base() : prefix_("suite_" + random_epoch() + "_") {}

void engine_fixture_base::step(double seconds, broker* b) {
  const auto ms = static_cast<int64_t>(seconds * 1000);
  switch (GetParam().time) {
    case suite_time::manual:
      clock_.advance_ms(ms);
      break;
    case suite_time::real:
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      break;
    case suite_time::none:
      ADD_FAILURE() << "time step in an engine without time control; skip the test";
      return;
  }
  if (GetParam().after_time_step && b != nullptr) GetParam().after_time_step(*b);
}

void broker_suite::SetUp() {
  ASSERT_TRUE(GetParam().make_broker) << "engine_suite_params.make_broker is empty";
  broker_ = GetParam().make_broker(clock_);
  if (IsSkipped()) return;  // the factory skipped (e.g. its server is not installed)
  ASSERT_NE(broker_, nullptr);
  broker_->start(handler_);
}

void broker_suite::TearDown() {
  if (broker_) broker_->stop();
}

std::string broker_suite::channel(std::string_view name) {
  std::string ch = channel_name(name);
  auto st = await_result<ok_t>([&](callback<ok_t> cb) { broker_->subscribe(ch, std::move(cb)); },
                               timeout());
  EXPECT_TRUE(st.ok()) << "subscribe " << ch;
  return ch;
}

result<publish_outcome> broker_suite::publish(const std::string& ch, std::string data,
                                              const publish_options& opts) {
  publication pub;
  pub.data = std::move(data);
  return await_result<publish_outcome>(
      [&](callback<publish_outcome> cb) {
        broker_->publish(ch, std::move(pub), opts, std::move(cb));
      },
      timeout());
}

publish_outcome broker_suite::publish_ok(const std::string& ch, std::string data,
                                         const publish_options& opts) {
  auto r = publish(ch, std::move(data), opts);
  if (!r.ok()) {
    ADD_FAILURE() << "publish to " << ch << " failed: " << r.error().message;
    return {};
  }
  return std::move(r).value();
}

result<history_page> broker_suite::history(const std::string& ch, const history_query& q) {
  return await_result<history_page>(
      [&](callback<history_page> cb) { broker_->history(ch, q, std::move(cb)); }, timeout());
}

history_page broker_suite::history_ok(const std::string& ch, const history_query& q) {
  auto r = history(ch, q);
  if (!r.ok()) {
    ADD_FAILURE() << "history of " << ch << " failed: " << r.error().message;
    return {};
  }
  return std::move(r).value();
}

status broker_suite::remove_history(const std::string& ch) {
  return await_result<ok_t>([&](status_callback cb) { broker_->remove_history(ch, std::move(cb)); },
                            timeout());
}

status broker_suite::publish_join(const std::string& ch, const client_info& info) {
  return await_result<ok_t>(
      [&](status_callback cb) { broker_->publish_join(ch, info, std::move(cb)); }, timeout());
}

status broker_suite::publish_leave(const std::string& ch, const client_info& info) {
  return await_result<ok_t>(
      [&](status_callback cb) { broker_->publish_leave(ch, info, std::move(cb)); }, timeout());
}

publish_options broker_suite::with_history(uint32_t size, uint32_t ttl, uint32_t meta_ttl) {
  publish_options o;
  o.history_size = size;
  o.history_ttl_seconds = ttl;
  o.history_meta_ttl_seconds = meta_ttl;
  return o;
}

history_query broker_suite::query(int32_t limit, std::optional<stream_position> since, bool reverse,
                                  int64_t meta_ttl) {
  history_query q;
  q.limit = limit;
  q.since = std::move(since);
  q.reverse = reverse;
  q.meta_ttl_seconds = meta_ttl;
  return q;
}

std::vector<uint64_t> broker_suite::offsets(const history_page& page) {
  std::vector<uint64_t> out;
  for (const auto& p : page.publications) out.push_back(p.offset);
  return out;
}

void presence_suite::SetUp() {
  if (!GetParam().make_presence) GTEST_SKIP() << "engine has no presence manager";
  presence_ = GetParam().make_presence(clock_);
  if (IsSkipped()) return;
  ASSERT_NE(presence_, nullptr);
}

void presence_suite::TearDown() {
  if (presence_) presence_->stop();
}

status presence_suite::add(const std::string& ch, const client_info& info) {
  return await_result<ok_t>([&](status_callback cb) { presence_->add(ch, info, std::move(cb)); },
                            timeout());
}

status presence_suite::remove(const std::string& ch, const client_info& info) {
  return await_result<ok_t>(
      [&](status_callback cb) { presence_->remove(ch, info.client, info.user, std::move(cb)); },
      timeout());
}

presence_map presence_suite::presence_ok(const std::string& ch) {
  auto r = await_result<presence_map>(
      [&](callback<presence_map> cb) { presence_->presence(ch, std::move(cb)); }, timeout());
  if (!r.ok()) {
    ADD_FAILURE() << "presence of " << ch << " failed: " << r.error().message;
    return {};
  }
  auto out = std::move(r).value();
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

presence_stats presence_suite::stats_ok(const std::string& ch) {
  auto r = await_result<presence_stats>(
      [&](callback<presence_stats> cb) { presence_->stats(ch, std::move(cb)); }, timeout());
  if (!r.ok()) {
    ADD_FAILURE() << "presence stats of " << ch << " failed: " << r.error().message;
    return {};
  }
  return r.value();
}

namespace {

#define GYRE_REQUIRE_HISTORY() \
  if (!broker_->supports_history()) GTEST_SKIP() << "engine keeps no history"
#define GYRE_REQUIRE_TIME() \
  if (!time_controllable()) GTEST_SKIP() << "engine runs without time control"
#define GYRE_REQUIRE_IDEMPOTENCY() \
  if (!GetParam().idempotency) GTEST_SKIP() << "engine has no idempotent publish"

std::vector<uint64_t> range(uint64_t from, uint64_t to) {  // [from, to], empty when from > to
  std::vector<uint64_t> out;
  for (uint64_t o = from; o <= to; ++o) out.push_back(o);
  return out;
}

std::vector<uint64_t> reversed(std::vector<uint64_t> v) {
  std::reverse(v.begin(), v.end());
  return v;
}

client_info make_client(std::string user, std::string client, std::string chan_info = {}) {
  client_info c;
  c.user = std::move(user);
  c.client = std::move(client);
  c.conn_info = R"({"name":"conn"})";
  c.chan_info = std::move(chan_info);
  return c;
}

// ---------------------------------------------------------------------------------------
// Offsets, epochs, publication content

TEST_P(broker_suite, history_publish_assigns_consecutive_offsets_in_one_epoch) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("offsets");
  const auto a = publish_ok(ch, R"({"n":1})", with_history());
  const auto b = publish_ok(ch, R"({"n":2})", with_history());
  const auto c = publish_ok(ch, R"({"n":3})", with_history());
  EXPECT_EQ(a.position.offset, 1u);
  EXPECT_EQ(b.position.offset, 2u);
  EXPECT_EQ(c.position.offset, 3u);
  EXPECT_FALSE(a.position.epoch.empty());
  EXPECT_EQ(a.position.epoch, b.position.epoch);
  EXPECT_EQ(a.position.epoch, c.position.epoch);
  EXPECT_FALSE(a.suppressed || b.suppressed || c.suppressed);

  ASSERT_TRUE(handler_.wait_publications(ch, 3, timeout()));
  const auto got = handler_.publications(ch);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]->channel, ch);
    EXPECT_EQ(got[i]->pub.offset, i + 1);
    EXPECT_EQ(got[i]->epoch, a.position.epoch) << "offset 1 carries the epoch; the rest agree";
  }
  EXPECT_EQ(got[0]->pub.data, R"({"n":1})");
  EXPECT_EQ(got[2]->pub.data, R"({"n":3})");
}

TEST_P(broker_suite, channels_have_independent_streams) {
  GYRE_REQUIRE_HISTORY();
  const auto x = channel("x");
  const auto y = channel("y");
  publish_ok(x, "1", with_history());
  publish_ok(x, "2", with_history());
  const auto y1 = publish_ok(y, "1", with_history());
  const auto x3 = publish_ok(x, "3", with_history());
  EXPECT_EQ(y1.position.offset, 1u);
  EXPECT_EQ(x3.position.offset, 3u);
  EXPECT_NE(x3.position.epoch, y1.position.epoch);
  EXPECT_EQ(offsets(history_ok(y, query(-1))), range(1, 1));
}

TEST_P(broker_suite, history_keeps_every_publication_field) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("fields");
  publication pub;
  pub.data = std::string(
      "\x00\x01"
      "binary"
      "\xff",
      9);
  pub.info = make_client("u1", "c1", R"({"ch":1})");
  pub.tags = {{"a", "1"}, {"b", "2"}};
  pub.delta = true;
  pub.time = 1'700'000'000'123;
  auto r = await_result<publish_outcome>(
      [&](callback<publish_outcome> cb) {
        broker_->publish(ch, pub, with_history(), std::move(cb));
      },
      timeout());
  ASSERT_TRUE(r.ok());
  const auto page = history_ok(ch, query(-1));
  ASSERT_EQ(page.publications.size(), 1u);
  publication expected = pub;
  expected.offset = 1;
  EXPECT_EQ(page.publications[0], expected);
  ASSERT_TRUE(handler_.wait_publications(ch, 1, timeout()));
  EXPECT_EQ(handler_.publications(ch)[0]->pub, expected);
}

TEST_P(broker_suite, publish_without_history_is_delivered_with_empty_position) {
  const auto ch = channel("nohistory");
  publish_options opts;  // history_size 0
  const auto out = publish_ok(ch, "live", opts);
  EXPECT_EQ(out.position, stream_position{});
  EXPECT_FALSE(out.suppressed);
  // history_size without ttl (and ttl without size) keeps no history either.
  opts.history_size = 10;
  EXPECT_EQ(publish_ok(ch, "live2", opts).position, stream_position{});
  opts.history_size = 0;
  opts.history_ttl_seconds = 10;
  EXPECT_EQ(publish_ok(ch, "live3", opts).position, stream_position{});

  ASSERT_TRUE(handler_.wait_publications(ch, 3, timeout()));
  const auto got = handler_.publications(ch);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]->pub.data, "live");
  EXPECT_EQ(got[0]->pub.offset, 0u);
  EXPECT_EQ(got[0]->epoch, "");
  EXPECT_EQ(got[0]->prev_data, nullptr);
  if (broker_->supports_history()) {
    const auto page = history_ok(ch, query(-1));
    EXPECT_TRUE(page.publications.empty());
    EXPECT_EQ(page.top.offset, 0u);
  }
}

TEST_P(broker_suite, handler_sees_publication_before_publish_completes) {
  const auto ch = channel("before_done");
  for (int i = 0; i < 20; ++i) {
    const bool history = broker_->supports_history() && i % 2 == 0;
    auto opts = history ? with_history() : publish_options{};
    const size_t before = handler_.publications(ch).size();
    std::atomic<size_t> seen_at_done{0};
    auto r = await_result<publish_outcome>(
        [&](callback<publish_outcome> cb) {
          publication pub;
          pub.data = std::to_string(i);
          broker_->publish(ch, std::move(pub), opts,
                           [&, cb = std::move(cb)](result<publish_outcome> res) {
                             seen_at_done = handler_.publications(ch).size();
                             cb(std::move(res));
                           });
        },
        timeout());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(seen_at_done.load(), before + 1) << "publication " << i;
  }
}

// ---------------------------------------------------------------------------------------
// Size, history reads (client-protocol §4.12 table), positions

TEST_P(broker_suite, history_is_trimmed_to_size) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("trim");
  for (int i = 1; i <= 7; ++i) publish_ok(ch, std::to_string(i), with_history(3));
  const auto page = history_ok(ch, query(-1));
  EXPECT_EQ(offsets(page), range(5, 7));
  EXPECT_EQ(page.top.offset, 7u);
  ASSERT_EQ(page.publications.size(), 3u);
  EXPECT_EQ(page.publications[0].data, "5");
  EXPECT_EQ(page.publications[2].data, "7");
}

TEST_P(broker_suite, history_size_change_applies_on_next_publish) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("resize");
  for (int i = 1; i <= 5; ++i) publish_ok(ch, std::to_string(i), with_history(5));
  publish_ok(ch, "6", with_history(2));
  EXPECT_EQ(offsets(history_ok(ch, query(-1))), range(5, 6));
  for (int i = 7; i <= 10; ++i) publish_ok(ch, std::to_string(i), with_history(4));
  EXPECT_EQ(offsets(history_ok(ch, query(-1))), range(7, 10));
}

TEST_P(broker_suite, history_limit_zero_returns_position_only) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("limit0");
  const auto last = [&] {
    publish_outcome o;
    for (int i = 0; i < 4; ++i) o = publish_ok(ch, "x", with_history());
    return o;
  }();
  const auto page = history_ok(ch, query(0));
  EXPECT_TRUE(page.publications.empty());
  EXPECT_EQ(page.top, last.position);
  // Also with since and reverse.
  EXPECT_TRUE(
      history_ok(ch, query(0, stream_position{1, last.position.epoch})).publications.empty());
  EXPECT_TRUE(history_ok(ch, query(0, std::nullopt, true)).publications.empty());
}

TEST_P(broker_suite, history_forward_without_since_returns_oldest_first) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("forward");
  for (int i = 1; i <= 10; ++i) publish_ok(ch, std::to_string(i), with_history(8));
  EXPECT_EQ(offsets(history_ok(ch, query(3))), range(3, 5)) << "n oldest retained";
  EXPECT_EQ(offsets(history_ok(ch, query(-1))), range(3, 10));
  EXPECT_EQ(offsets(history_ok(ch, query(100))), range(3, 10));
  EXPECT_EQ(history_ok(ch, query(3)).top.offset, 10u);
}

TEST_P(broker_suite, history_reverse_without_since_returns_newest_first) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("reverse");
  for (int i = 1; i <= 10; ++i) publish_ok(ch, std::to_string(i), with_history(8));
  EXPECT_EQ(offsets(history_ok(ch, query(3, std::nullopt, true))), reversed(range(8, 10)));
  EXPECT_EQ(offsets(history_ok(ch, query(-1, std::nullopt, true))), reversed(range(3, 10)));
  EXPECT_EQ(offsets(history_ok(ch, query(50, std::nullopt, true))), reversed(range(3, 10)));
}

TEST_P(broker_suite, history_forward_since_returns_later_offsets) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("since");
  std::string epoch;
  for (int i = 1; i <= 10; ++i)
    epoch = publish_ok(ch, std::to_string(i), with_history(8)).position.epoch;
  EXPECT_EQ(offsets(history_ok(ch, query(2, stream_position{5, epoch}))), range(6, 7));
  EXPECT_EQ(offsets(history_ok(ch, query(-1, stream_position{5, epoch}))), range(6, 10));
  EXPECT_EQ(offsets(history_ok(ch, query(-1, stream_position{9, epoch}))), range(10, 10));
  EXPECT_TRUE(history_ok(ch, query(-1, stream_position{10, epoch})).publications.empty())
      << "since == top: nothing newer";
  EXPECT_TRUE(history_ok(ch, query(-1, stream_position{15, epoch})).publications.empty());
  // Offsets 1 and 2 were trimmed: the read starts at the oldest retained (3), which is how
  // recovery notices the gap.
  EXPECT_EQ(offsets(history_ok(ch, query(-1, stream_position{0, epoch}))), range(3, 10));
  EXPECT_EQ(offsets(history_ok(ch, query(2, stream_position{1, epoch}))), range(3, 4));
}

TEST_P(broker_suite, history_reverse_since_returns_earlier_offsets) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("since_reverse");
  std::string epoch;
  for (int i = 1; i <= 10; ++i)
    epoch = publish_ok(ch, std::to_string(i), with_history(8)).position.epoch;
  EXPECT_EQ(offsets(history_ok(ch, query(2, stream_position{6, epoch}, true))),
            reversed(range(4, 5)));
  EXPECT_EQ(offsets(history_ok(ch, query(-1, stream_position{6, epoch}, true))),
            reversed(range(3, 5)));
  EXPECT_EQ(offsets(history_ok(ch, query(-1, stream_position{11, epoch}, true))),
            reversed(range(3, 10)))
      << "since == top + 1: from the top";
  // Further past the top: memory reads nothing, Redis reads from the top.
  for (uint64_t since : {12u, 50u}) {
    const auto page = history_ok(ch, query(2, stream_position{since, epoch}, true));
    if (GetParam().reverse_since_past_top_reads_from_top) {
      EXPECT_EQ(offsets(page), reversed(range(9, 10))) << since;
    } else {
      EXPECT_TRUE(page.publications.empty()) << since;
    }
    EXPECT_EQ(page.top.offset, 10u);
  }
  EXPECT_TRUE(history_ok(ch, query(-1, stream_position{3, epoch}, true)).publications.empty())
      << "nothing retained before the oldest";
  // since.offset == 0 in reverse is rejected by the node (107); an engine may answer with
  // an error or with nothing, never with publications.
  auto r = history(ch, query(-1, stream_position{0, epoch}, true));
  if (r.ok()) {
    EXPECT_TRUE(r->publications.empty());
  }
}

TEST_P(broker_suite, history_page_says_whether_the_first_publication_carries_the_epoch) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("epoch_on_first");
  const auto top = publish_ok(ch, "1", with_history());
  const auto page = history_ok(ch, query(-1));
  ASSERT_EQ(offsets(page), range(1, 1));
  EXPECT_EQ(page.top, top.position);
  EXPECT_EQ(page.epoch_on_first, GetParam().epoch_on_first);
}

TEST_P(broker_suite, history_pagination_walks_the_whole_stream) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("paging");
  for (int i = 1; i <= 25; ++i) publish_ok(ch, std::to_string(i), with_history());
  std::vector<uint64_t> seen;
  std::optional<stream_position> since;
  for (int pages = 0; pages < 10; ++pages) {
    const auto page = history_ok(ch, query(7, since));
    if (page.publications.empty()) break;
    for (const auto& p : page.publications) seen.push_back(p.offset);
    since = stream_position{page.publications.back().offset, page.top.epoch};
  }
  EXPECT_EQ(seen, range(1, 25));
}

TEST_P(broker_suite, history_since_with_other_epoch_is_unrecoverable) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("epoch_mismatch");
  const auto top = publish_ok(ch, "1", with_history()).position;
  publish_ok(ch, "2", with_history());
  auto r = history(ch, query(-1, stream_position{1, top.epoch + "x"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errors::unrecoverable_position);
  r = history(ch, query(0, stream_position{1, "_"}));  // the JS "fail on purpose" sentinel
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errors::unrecoverable_position);
  // Empty since.epoch accepts any epoch.
  const auto page = history_ok(ch, query(-1, stream_position{1, ""}));
  EXPECT_EQ(offsets(page), range(2, 2));
  EXPECT_EQ(page.top.epoch, top.epoch);
}

TEST_P(broker_suite, history_read_creates_stream_metadata) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("fresh");
  const auto first = history_ok(ch, query(-1));
  EXPECT_EQ(first.top.offset, 0u);
  EXPECT_FALSE(first.top.epoch.empty());
  EXPECT_TRUE(first.publications.empty());
  EXPECT_EQ(history_ok(ch, query(0)).top, first.top) << "the epoch is stable between reads";
  const auto out = publish_ok(ch, "1", with_history());
  EXPECT_EQ(out.position, (stream_position{1, first.top.epoch}))
      << "a client positioned on the empty stream continues with offset 1";
}

TEST_P(broker_suite, stream_tops_read_positions_without_creating_metadata) {
  const auto a = channel("tops_a");
  const auto b = channel("tops_b");
  const auto none = channel("tops_none");
  auto tops = [&](std::vector<std::string> chs) {
    return await_result<std::vector<stream_position>>(
        [&](callback<std::vector<stream_position>> cb) {
          broker_->stream_tops(chs, std::move(cb));
        },
        timeout());
  };
  if (!broker_->supports_history()) {
    auto r = tops({a});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), errors::not_available);
    return;
  }
  stream_position top_a;
  for (int i = 1; i <= 3; ++i) top_a = publish_ok(a, std::to_string(i), with_history()).position;
  const auto top_b = publish_ok(b, "1", with_history()).position;
  auto r = tops({none, a, b, a});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<stream_position>{{}, top_a, top_b, top_a}));
  // Reading created nothing: the channel still has no stream, and its first history read
  // makes one (offset 0, a fresh epoch).
  r = tops({none});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at(0), stream_position{});
  EXPECT_FALSE(history_ok(none, query(0)).top.epoch.empty());
  r = tops({});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST_P(broker_suite, remove_history_drops_publications_and_keeps_position) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("remove");
  stream_position top;
  for (int i = 1; i <= 3; ++i) top = publish_ok(ch, std::to_string(i), with_history()).position;
  ASSERT_TRUE(remove_history(ch).ok());
  const auto page = history_ok(ch, query(-1));
  EXPECT_TRUE(page.publications.empty());
  EXPECT_EQ(page.top, top);
  const auto next = publish_ok(ch, "4", with_history());
  EXPECT_EQ(next.position, (stream_position{4, top.epoch}));
  EXPECT_EQ(offsets(history_ok(ch, query(-1))), range(4, 4));
  EXPECT_TRUE(remove_history(channel("never_used")).ok());
}

TEST_P(broker_suite, recovery_since_any_offset_returns_exactly_the_missed_publications) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("recovery");
  constexpr uint64_t n = 20;
  stream_position top;
  for (uint64_t i = 1; i <= n; ++i)
    top = publish_ok(ch, "p" + std::to_string(i), with_history()).position;
  for (uint64_t k : {0u, 1u, 7u, 19u, 20u}) {
    const auto page = history_ok(ch, query(-1, stream_position{k, top.epoch}));
    EXPECT_EQ(page.top, top);
    EXPECT_EQ(offsets(page), range(k + 1, n)) << "since " << k;
    for (const auto& p : page.publications) EXPECT_EQ(p.data, "p" + std::to_string(p.offset));
    // client-protocol §4.9: recovered iff the first is k+1 and the last is the top.
    if (!page.publications.empty()) {
      EXPECT_EQ(page.publications.front().offset, k + 1);
      EXPECT_EQ(page.publications.back().offset, page.top.offset);
    }
  }
}

// ---------------------------------------------------------------------------------------
// TTLs (time-controlled)

TEST_P(broker_suite, history_content_expires_after_last_publish_and_keeps_position) {
  GYRE_REQUIRE_HISTORY();
  GYRE_REQUIRE_TIME();
  const auto ch = channel("content_ttl");
  const auto opts = with_history(10, 2, 60);
  publish_ok(ch, "1", opts);
  step(1);
  const auto top = publish_ok(ch, "2", opts).position;
  step(1.5);  // 2.5 s after the first publish, 1.5 s after the last: the TTL slides
  EXPECT_EQ(offsets(history_ok(ch, query(-1))), range(1, 2));
  step(1);  // 2.5 s after the last publish
  const auto page = history_ok(ch, query(-1));
  EXPECT_TRUE(page.publications.empty());
  EXPECT_EQ(page.top, top) << "expired content keeps offset and epoch";
  const auto next = publish_ok(ch, "3", opts);
  EXPECT_EQ(next.position, (stream_position{3, top.epoch}));
  EXPECT_EQ(offsets(history_ok(ch, query(-1))), range(3, 3));
}

TEST_P(broker_suite, stream_metadata_expires_and_next_publish_starts_new_epoch) {
  GYRE_REQUIRE_HISTORY();
  GYRE_REQUIRE_TIME();
  const auto ch = channel("meta_ttl");
  const auto opts = with_history(10, 1, 2);
  publish_ok(ch, "1", opts);
  const auto old_top = publish_ok(ch, "2", opts).position;
  step(3);
  const auto next = publish_ok(ch, "3", opts);
  EXPECT_EQ(next.position.offset, 1u);
  EXPECT_FALSE(next.position.epoch.empty());
  EXPECT_NE(next.position.epoch, old_top.epoch);
  ASSERT_TRUE(handler_.wait_publications(ch, 3, timeout()));
  EXPECT_EQ(handler_.publications(ch).back()->epoch, next.position.epoch);
  auto r = history(ch, query(-1, old_top));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errors::unrecoverable_position);
}

TEST_P(broker_suite, history_read_refreshes_metadata_ttl) {
  GYRE_REQUIRE_HISTORY();
  GYRE_REQUIRE_TIME();
  const auto ch = channel("meta_refresh");
  const auto opts = with_history(10, 1, 2);
  const auto first = publish_ok(ch, "1", opts).position;
  step(1.5);
  EXPECT_EQ(history_ok(ch, query(0, std::nullopt, false, 2)).top, first);
  step(1.5);  // 3 s after the publish, 1.5 s after the read
  EXPECT_EQ(publish_ok(ch, "2", opts).position, (stream_position{2, first.epoch}));
}

TEST_P(broker_suite, metadata_created_by_read_expires) {
  GYRE_REQUIRE_HISTORY();
  GYRE_REQUIRE_TIME();
  const auto ch = channel("meta_read_ttl");
  const auto first = history_ok(ch, query(0, std::nullopt, false, 2)).top;
  step(3);
  const auto second = history_ok(ch, query(0, std::nullopt, false, 2)).top;
  EXPECT_EQ(second.offset, 0u);
  EXPECT_NE(second.epoch, first.epoch);
}

// ---------------------------------------------------------------------------------------
// Idempotency, version suppression

TEST_P(broker_suite, idempotent_publish_with_history_returns_first_result) {
  GYRE_REQUIRE_HISTORY();
  GYRE_REQUIRE_IDEMPOTENCY();
  const auto ch = channel("idem_history");
  auto opts = with_history();
  opts.idempotency_key = "key-1";
  const auto first = publish_ok(ch, "first", opts);
  EXPECT_FALSE(first.suppressed);
  EXPECT_EQ(first.position.offset, 1u);
  const auto again = publish_ok(ch, "second", opts);
  EXPECT_TRUE(again.suppressed);
  EXPECT_EQ(again.suppress_reason, "idempotency");
  EXPECT_EQ(again.position, first.position);
  opts.idempotency_key = "key-2";
  EXPECT_EQ(publish_ok(ch, "third", opts).position.offset, 2u);

  const auto page = history_ok(ch, query(-1));
  ASSERT_EQ(page.publications.size(), 2u);
  EXPECT_EQ(page.publications[0].data, "first");
  EXPECT_EQ(page.publications[1].data, "third");
  ASSERT_TRUE(handler_.wait_publications(ch, 2, timeout()));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a late duplicate would show
  EXPECT_EQ(handler_.publications(ch).size(), 2u) << "a repeat is not delivered again";
}

TEST_P(broker_suite, idempotent_publish_without_history_is_delivered_once) {
  GYRE_REQUIRE_IDEMPOTENCY();
  const auto ch = channel("idem_live");
  publish_options opts;
  opts.idempotency_key = "k";
  const auto first = publish_ok(ch, "a", opts);
  EXPECT_FALSE(first.suppressed);
  EXPECT_EQ(first.position, stream_position{});
  const auto again = publish_ok(ch, "b", opts);
  EXPECT_TRUE(again.suppressed);
  EXPECT_EQ(again.suppress_reason, "idempotency");
  EXPECT_EQ(again.position, stream_position{});
  ASSERT_TRUE(handler_.wait_publications(ch, 1, timeout()));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto got = handler_.publications(ch);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->pub.data, "a");
}

TEST_P(broker_suite, idempotency_keys_are_per_channel) {
  GYRE_REQUIRE_IDEMPOTENCY();
  const auto a = channel("idem_a");
  const auto b = channel("idem_b");
  publish_options opts;
  opts.idempotency_key = "same";
  EXPECT_FALSE(publish_ok(a, "1", opts).suppressed);
  EXPECT_FALSE(publish_ok(b, "1", opts).suppressed);
  EXPECT_TRUE(publish_ok(a, "2", opts).suppressed);
}

TEST_P(broker_suite, idempotent_result_expires) {
  GYRE_REQUIRE_HISTORY();
  GYRE_REQUIRE_IDEMPOTENCY();
  GYRE_REQUIRE_TIME();
  const auto ch = channel("idem_ttl");
  auto opts = with_history();
  opts.idempotency_key = "k";
  opts.idempotent_result_ttl_seconds = 1;
  EXPECT_EQ(publish_ok(ch, "1", opts).position.offset, 1u);
  EXPECT_TRUE(publish_ok(ch, "1", opts).suppressed);
  step(2);
  const auto later = publish_ok(ch, "1", opts);
  EXPECT_FALSE(later.suppressed);
  EXPECT_EQ(later.position.offset, 2u);
}

TEST_P(broker_suite, version_suppresses_stale_publications) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("version");
  auto opts = with_history();
  opts.version = 1;
  const auto v1 = publish_ok(ch, "v1", opts);
  EXPECT_FALSE(v1.suppressed);
  const auto dup = publish_ok(ch, "v1 again", opts);
  EXPECT_TRUE(dup.suppressed);
  EXPECT_EQ(dup.suppress_reason, "version");
  EXPECT_EQ(dup.position, v1.position) << "suppressed: the current top position";
  opts.version = 3;
  const auto v3 = publish_ok(ch, "v3", opts);
  EXPECT_FALSE(v3.suppressed);
  EXPECT_EQ(v3.position.offset, 2u);
  opts.version = 2;
  const auto v2 = publish_ok(ch, "v2", opts);
  EXPECT_TRUE(v2.suppressed);
  EXPECT_EQ(v2.position, v3.position);
  opts.version = 0;  // no version: never suppressed
  EXPECT_EQ(publish_ok(ch, "unversioned", opts).position.offset, 3u);
  opts.version = 3;
  const auto again = publish_ok(ch, "v3 again", opts);
  // Redis keeps the stored version 3; memory forgot it with the unversioned publication.
  EXPECT_EQ(again.suppressed, GetParam().unversioned_publish_keeps_version);
  std::vector<std::string> expected{"v1", "v3", "unversioned"};
  if (!again.suppressed) expected.push_back("v3 again");

  ASSERT_TRUE(handler_.wait_publications(ch, expected.size(), timeout()));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<std::string> delivered;
  for (const auto& p : handler_.publications(ch)) delivered.push_back(p->pub.data);
  EXPECT_EQ(delivered, expected);
  std::vector<std::string> stored;
  for (const auto& p : history_ok(ch, query(-1)).publications) stored.push_back(p.data);
  EXPECT_EQ(stored, delivered);
}

TEST_P(broker_suite, unversioned_publication_then_version_one) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("version_reset");
  auto opts = with_history();
  opts.version = 1;
  EXPECT_FALSE(publish_ok(ch, "v1", opts).suppressed);
  opts.version = 0;
  EXPECT_FALSE(publish_ok(ch, "plain", opts).suppressed);
  opts.version = 1;
  const auto v1 = publish_ok(ch, "v1 after plain", opts);
  if (GetParam().unversioned_publish_keeps_version) {
    EXPECT_TRUE(v1.suppressed);
    EXPECT_EQ(v1.position.offset, 2u);
  } else {
    EXPECT_FALSE(v1.suppressed) << "memory: the unversioned publication reset the version";
    EXPECT_EQ(v1.position.offset, 3u);
    opts.version = 1;  // and version 1 is stored again
    EXPECT_TRUE(publish_ok(ch, "v1 twice", opts).suppressed);
  }
}

TEST_P(broker_suite, version_epoch_change_resets_comparison) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("version_epoch");
  auto opts = with_history();
  opts.version = 5;
  opts.version_epoch = "a";
  EXPECT_FALSE(publish_ok(ch, "a5", opts).suppressed);
  opts.version = 3;
  EXPECT_TRUE(publish_ok(ch, "a3", opts).suppressed);
  opts.version_epoch = "";  // empty epoch compares with whatever is stored
  EXPECT_TRUE(publish_ok(ch, "3", opts).suppressed);
  opts.version_epoch = "b";  // another epoch: published, and becomes the stored one
  EXPECT_FALSE(publish_ok(ch, "b3", opts).suppressed);
  opts.version = 2;
  EXPECT_TRUE(publish_ok(ch, "b2", opts).suppressed);
  opts.version_epoch = "a";
  EXPECT_FALSE(publish_ok(ch, "a2", opts).suppressed);
  opts.version_epoch = "";
  opts.version = 4;
  EXPECT_FALSE(publish_ok(ch, "4", opts).suppressed);
  EXPECT_EQ(offsets(history_ok(ch, query(-1))), range(1, 4));
}

// ---------------------------------------------------------------------------------------
// Delta pairing

TEST_P(broker_suite, delta_publication_carries_previous_payload) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("delta");
  auto delta = with_history();
  delta.use_delta = true;
  publish_ok(ch, "one", delta);
  publish_ok(ch, "two", delta);
  publish_ok(ch, "three", with_history());
  publish_ok(ch, "four", delta);
  ASSERT_TRUE(remove_history(ch).ok());
  publish_ok(ch, "five", delta);

  ASSERT_TRUE(handler_.wait_publications(ch, 5, timeout()));
  const auto got = handler_.publications(ch);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_TRUE(got[0]->use_delta);
  EXPECT_EQ(got[0]->prev_data, nullptr) << "offset 1 has no previous publication";
  ASSERT_NE(got[1]->prev_data, nullptr);
  EXPECT_EQ(*got[1]->prev_data, "one");
  EXPECT_FALSE(got[2]->use_delta);
  EXPECT_EQ(got[2]->prev_data, nullptr);
  ASSERT_NE(got[3]->prev_data, nullptr);
  EXPECT_EQ(*got[3]->prev_data, "three") << "paired with offset N-1 whatever its delta flag";
  EXPECT_EQ(got[4]->prev_data, nullptr) << "the previous publication was removed";
  // History never carries deltas: stored publications are the full payloads.
  const auto page = history_ok(ch, query(-1));
  ASSERT_EQ(page.publications.size(), 1u);
  EXPECT_EQ(page.publications[0].data, "five");
}

TEST_P(broker_suite, delta_without_history_rides_on_the_publication) {
  const auto ch = channel("delta_live");
  publish_options opts;
  opts.use_delta = true;
  publish_ok(ch, "a", opts);
  publish_ok(ch, "b", opts);
  ASSERT_TRUE(handler_.wait_publications(ch, 2, timeout()));
  const auto got = handler_.publications(ch);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[1]->use_delta);
  EXPECT_EQ(got[1]->prev_data, nullptr);
}

// ---------------------------------------------------------------------------------------
// Ordering under concurrency

TEST_P(broker_suite, concurrent_publishers_are_delivered_in_offset_order) {
  GYRE_REQUIRE_HISTORY();
  const auto ch = channel("concurrent");
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  constexpr uint64_t total = threads * per_thread;
  std::vector<std::vector<uint64_t>> returned(threads);
  std::atomic<int> failures{0};
  std::atomic<int> done_before_delivery{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto r = await_result<publish_outcome>(
            [&](callback<publish_outcome> cb) {
              publication pub;
              pub.data = std::to_string(t) + ":" + std::to_string(i);
              broker_->publish(ch, std::move(pub), with_history(total, 300),
                               [&, cb = std::move(cb)](result<publish_outcome> res) {
                                 if (res.ok() && handler_.max_offset(ch) < res->position.offset) {
                                   ++done_before_delivery;
                                 }
                                 cb(std::move(res));
                               });
            },
            timeout());
        if (!r.ok()) {
          ++failures;
          return;
        }
        returned[t].push_back(r->position.offset);
      }
    });
  }
  for (auto& w : workers) w.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(done_before_delivery.load(), 0) << "publish reported done before the handler saw it";

  std::set<uint64_t> all;
  for (const auto& v : returned) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end())) << "one thread's publishes go in order";
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), total);
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), total);

  ASSERT_TRUE(handler_.wait_publications(ch, total, timeout()));
  const auto got = handler_.publications(ch);
  ASSERT_EQ(got.size(), total);
  std::vector<int> next_of_thread(threads, 0);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i]->pub.offset, i + 1) << "delivery order must be offset order";
    const auto& data = got[i]->pub.data;
    const int t = std::stoi(data.substr(0, data.find(':')));
    const int n = std::stoi(data.substr(data.find(':') + 1));
    ASSERT_EQ(n, next_of_thread[t]++) << "thread " << t;
  }
  EXPECT_EQ(offsets(history_ok(ch, query(-1))), range(1, total));
}

TEST_P(broker_suite, concurrent_publishers_to_many_channels) {
  GYRE_REQUIRE_HISTORY();
  constexpr int threads = 4;
  constexpr int channels = 16;
  constexpr int per_thread = 200;
  std::vector<std::string> names;
  for (int c = 0; c < channels; ++c) names.push_back(channel("many_" + std::to_string(c)));
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const auto& ch = names[static_cast<size_t>((t + i) % channels)];
        auto r = await_result<publish_outcome>(
            [&](callback<publish_outcome> cb) {
              publication pub;
              pub.data = "x";
              broker_->publish(ch, std::move(pub), with_history(1000, 300), std::move(cb));
            },
            timeout());
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_TRUE(handler_.wait_publications("", threads * per_thread, timeout()));
  uint64_t sum = 0;
  for (const auto& ch : names) {
    const auto got = handler_.publications(ch);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i]->pub.offset, i + 1) << ch;
    EXPECT_EQ(history_ok(ch, query(0)).top.offset, got.size());
    sum += got.size();
  }
  EXPECT_EQ(sum, static_cast<uint64_t>(threads * per_thread));
}

// ---------------------------------------------------------------------------------------
// Join / leave, lifecycle

TEST_P(broker_suite, join_and_leave_are_delivered) {
  const auto ch = channel("presence_events");
  const auto alice = make_client("alice", "c-1", R"({"role":"x"})");
  ASSERT_TRUE(publish_join(ch, alice).ok());
  ASSERT_TRUE(publish_leave(ch, alice).ok());
  ASSERT_TRUE(handler_.wait_joins(1, timeout()));
  ASSERT_TRUE(handler_.wait_leaves(1, timeout()));
  const auto joins = handler_.joins();
  const auto leaves = handler_.leaves();
  ASSERT_EQ(joins.size(), 1u);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(joins[0].channel, ch);
  EXPECT_EQ(joins[0].info, alice);
  EXPECT_EQ(leaves[0].channel, ch);
  EXPECT_EQ(leaves[0].info, alice);
  EXPECT_TRUE(handler_.publications(ch).empty());
}

TEST_P(broker_suite, nothing_is_delivered_after_stop) {
  const auto ch = channel("stopped");
  publish_ok(ch, "before", publish_options{});
  ASSERT_TRUE(handler_.wait_publications(ch, 1, timeout()));
  broker_->stop();
  std::atomic<bool> called_ok{false};
  publication pub;
  pub.data = "after";
  broker_->publish(ch, std::move(pub), publish_options{},
                   [&](result<publish_outcome> r) { called_ok = r.ok(); });
  broker_->publish_join(ch, make_client("u", "c"),
                        [&](status s) { called_ok = called_ok || s.ok(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(handler_.publications(ch).size(), 1u);
  EXPECT_TRUE(handler_.joins().empty());
  EXPECT_FALSE(called_ok.load()) << "a call after stop() must not report success";
  broker_.reset();  // destroying a stopped broker is fine
}

// ---------------------------------------------------------------------------------------
// Presence

TEST_P(presence_suite, add_refresh_remove_and_stats) {
  const auto ch = channel_name("room");
  EXPECT_TRUE(presence_ok(ch).empty());
  EXPECT_EQ(stats_ok(ch).num_clients, 0u);

  const auto a1 = make_client("alice", "c-a1", R"({"v":1})");
  const auto a2 = make_client("alice", "c-a2");
  const auto b1 = make_client("bob", "c-b1");
  ASSERT_TRUE(add(ch, a1).ok());
  auto st = stats_ok(ch);
  EXPECT_EQ(st.num_clients, 1u);
  EXPECT_EQ(st.num_users, 1u);
  ASSERT_TRUE(add(ch, a2).ok());
  ASSERT_TRUE(add(ch, b1).ok());
  st = stats_ok(ch);
  EXPECT_EQ(st.num_clients, 3u);
  EXPECT_EQ(st.num_users, 2u) << "distinct users";

  EXPECT_EQ(presence_ok(ch), (presence_map{{"c-a1", a1}, {"c-a2", a2}, {"c-b1", b1}}));

  // Refresh: same client id, new info; no new entry.
  auto a1_new = a1;
  a1_new.chan_info = R"({"v":2})";
  ASSERT_TRUE(add(ch, a1_new).ok());
  EXPECT_EQ(stats_ok(ch).num_clients, 3u);
  EXPECT_EQ(presence_ok(ch)[0].second, a1_new);

  ASSERT_TRUE(remove(ch, a1).ok());
  st = stats_ok(ch);
  EXPECT_EQ(st.num_clients, 2u);
  EXPECT_EQ(st.num_users, 2u) << "alice still has c-a2";
  ASSERT_TRUE(remove(ch, a2).ok());
  st = stats_ok(ch);
  EXPECT_EQ(st.num_clients, 1u);
  EXPECT_EQ(st.num_users, 1u);
  EXPECT_EQ(presence_ok(ch), (presence_map{{"c-b1", b1}}));
  ASSERT_TRUE(remove(ch, b1).ok());
  EXPECT_TRUE(presence_ok(ch).empty());
  st = stats_ok(ch);
  EXPECT_EQ(st.num_clients, 0u);
  EXPECT_EQ(st.num_users, 0u);
  EXPECT_TRUE(remove(ch, b1).ok()) << "removing an absent client is fine";
}

TEST_P(presence_suite, channels_are_independent_and_anonymous_users_count_once) {
  const auto x = channel_name("x");
  const auto y = channel_name("y");
  ASSERT_TRUE(add(x, make_client("", "anon-1")).ok());
  ASSERT_TRUE(add(x, make_client("", "anon-2")).ok());
  ASSERT_TRUE(add(y, make_client("carol", "c-1")).ok());
  auto sx = stats_ok(x);
  EXPECT_EQ(sx.num_clients, 2u);
  EXPECT_EQ(sx.num_users, 1u);
  EXPECT_EQ(presence_ok(y).size(), 1u);
  ASSERT_TRUE(remove(y, make_client("carol", "c-1")).ok());
  EXPECT_EQ(presence_ok(x).size(), 2u);
}

TEST_P(presence_suite, concurrent_adds_and_removes) {
  const auto ch = channel_name("busy");
  constexpr int threads = 4;
  constexpr int per_thread = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const auto info = make_client("u" + std::to_string(i % 10),
                                      "c-" + std::to_string(t) + "-" + std::to_string(i));
        if (!add(ch, info).ok()) ++failures;
        if (i % 2 == 1 && !remove(ch, info).ok()) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0);
  const auto st = stats_ok(ch);
  EXPECT_EQ(st.num_clients, static_cast<uint32_t>(threads * per_thread / 2));
  EXPECT_EQ(st.num_users, 5u) << "only even i stay: users u0, u2, u4, u6, u8";
}

}  // namespace
}  // namespace gyre::broker_test
