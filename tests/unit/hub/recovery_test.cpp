// The recovery decision and the merge rule of hub/recovery
// (docs/design/connection-state-machine.md, "The recovery decision" and "The merge rule"), without
// a client: the history read a subscribe makes, what its reply carries (stream and cache mode,
// epochs, limits, 112, tags filter, fossil patches) and how buffered events are ordered after the
// reply, for every arrival order of a few publications.
#include "hub/recovery.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "protocol/fossil.hpp"
#include "protocol/tags_filter.hpp"

namespace gyre::recovery {
namespace {

publication pub(uint64_t offset, std::string data = "", tags_map tags = {}) {
  publication p;
  p.offset = offset;
  p.data = data.empty() ? "{\"n\":" + std::to_string(offset) + "}" : std::move(data);
  p.tags = std::move(tags);
  p.delta = true;  // the publisher allowed delta: must never leak into a reply as "patch"
  return p;
}

// A stream holding offsets [from, to] in epoch "E".
history_page page(uint64_t from, uint64_t to, uint64_t top, std::string epoch = "E") {
  history_page p;
  p.top = {top, std::move(epoch)};
  for (uint64_t o = from; o <= to && from > 0; ++o) p.publications.push_back(pub(o));
  return p;
}

std::vector<uint64_t> offsets(const std::vector<publication>& ps) {
  std::vector<uint64_t> v;
  for (const auto& p : ps) v.push_back(p.offset);
  return v;
}

request recovering(uint64_t since, std::string epoch = "E") {
  request r;
  r.positioned = r.recoverable = true;
  r.recover = true;
  r.since = {since, std::move(epoch)};
  return r;
}

protocol::compiled_filter kind_eq(const std::string& value) {
  protocol::filter_node f;
  f.key = "kind";
  f.cmp = "eq";
  f.val = value;
  return protocol::compiled_filter::compile(f).value();
}

// ---- the read ----

TEST(recovery_query, none_without_positioning_or_recovery) {
  EXPECT_FALSE(query_for(request{}, 300, 60).has_value());
}

TEST(recovery_query, positioned_reads_the_top_only) {
  request r;
  r.positioned = true;
  auto q = query_for(r, 300, 60);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->limit, 0);
  EXPECT_FALSE(q->since);
  EXPECT_EQ(q->meta_ttl_seconds, 60);
}

TEST(recovery_query, recovery_reads_after_the_position_without_the_epoch) {
  auto q = query_for(recovering(7, "E"), 300, 0);
  ASSERT_TRUE(q && q->since);
  EXPECT_EQ(q->since->offset, 7u);
  EXPECT_EQ(q->since->epoch, "");  // compared by decide(), not by the engine
  EXPECT_EQ(q->limit, 300);
  EXPECT_FALSE(q->reverse);
}

TEST(recovery_query, cache_mode_reads_the_newest_or_as_far_as_a_filter_needs) {
  request r = recovering(7);
  r.cache_mode = true;
  auto q = query_for(r, 300, 0);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->reverse);
  EXPECT_EQ(q->limit, 1);
  auto f = kind_eq("keep");
  r.filter = &f;
  q = query_for(r, 300, 0);
  EXPECT_EQ(q->limit, 300);
}

// ---- stream mode ----

TEST(recovery_decide, not_recovering_reports_the_top) {
  request r;
  r.positioned = r.recoverable = true;
  auto o = decide(r, page(0, 0, 42));
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->was_recovering);
  EXPECT_FALSE(o->recovered);
  EXPECT_EQ(o->reply_offset, 42u);
  EXPECT_EQ(o->epoch, "E");
  EXPECT_EQ(o->position, (stream_position{42, "E"}));
  EXPECT_TRUE(o->publications.empty());
}

TEST(recovery_decide, exactly_the_missed_publications_with_the_clients_offset) {
  auto o = decide(recovering(77), page(78, 84, 84));
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->was_recovering);
  EXPECT_TRUE(o->recovered);
  EXPECT_EQ(offsets(o->publications), (std::vector<uint64_t>{78, 79, 80, 81, 82, 83, 84}));
  EXPECT_EQ(o->reply_offset, 77u);  // the SDK moves it with each publication
  EXPECT_EQ(o->position.offset, 84u);
  for (const auto& p : o->publications) EXPECT_FALSE(p.delta);
}

TEST(recovery_decide, at_the_top_nothing_to_send_is_recovered) {
  auto o = decide(recovering(84), page(0, 0, 84));
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->recovered);
  EXPECT_TRUE(o->publications.empty());
  EXPECT_EQ(o->reply_offset, 84u);
}

TEST(recovery_decide, a_trimmed_stream_a_short_read_or_another_epoch_is_not_recovered) {
  struct {
    const char* what;
    request r;
    history_page p;
  } cases[] = {
      {"first publication trimmed", recovering(77), page(80, 84, 84)},
      {"read stops before the top (limit)", recovering(77), page(78, 80, 84)},
      {"empty read behind the top", recovering(77), page(0, 0, 84)},
      {"another epoch", recovering(77, "OLD"), page(78, 84, 84, "NEW")},
  };
  for (auto& c : cases) {
    auto o = decide(c.r, c.p);
    ASSERT_TRUE(o) << c.what;
    EXPECT_TRUE(o->was_recovering) << c.what;
    EXPECT_FALSE(o->recovered) << c.what;
    EXPECT_TRUE(o->publications.empty()) << c.what;
    EXPECT_EQ(o->reply_offset, 84u) << c.what;
    EXPECT_EQ(o->position.offset, 84u) << c.what;
  }
}

TEST(recovery_decide, an_empty_client_epoch_accepts_any_epoch) {
  auto o = decide(recovering(77, ""), page(78, 79, 79, "X"));
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->recovered);
}

TEST(recovery_decide, reject_unrecoverable_answers_112_instead_of_recovered_false) {
  request r = recovering(77);
  r.reject_unrecoverable = true;
  auto o = decide(r, page(80, 84, 84));
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error(), errors::unrecoverable_position);
  EXPECT_TRUE(decide(r, page(78, 84, 84)));  // recoverable: no error
}

// Finding 6 of issue 8: live 1, 3, 5 (kind=keep) reached the subscriber, but recovery sent
// every publication of the gap.
TEST(recovery_decide, recovered_publications_pass_the_tags_filter_and_still_move_the_position) {
  auto f = kind_eq("keep");
  request r = recovering(5);
  r.filter = &f;
  history_page p;
  p.top = {12, "E"};
  for (uint64_t o = 6; o <= 12; ++o)
    p.publications.push_back(pub(o, "", {{"kind", o % 2 ? "keep" : "drop"}}));
  auto o = decide(r, p);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->recovered);
  EXPECT_EQ(offsets(o->publications), (std::vector<uint64_t>{7, 9, 11}));
  EXPECT_EQ(o->reply_offset, 5u);
  EXPECT_EQ(o->position.offset, 12u);
}

// ---- delta ----

TEST(recovery_decide, delta_patches_are_made_against_the_previous_publication_the_client_receives) {
  auto f = kind_eq("keep");
  for (auto enc : {protocol::encoding::json, protocol::encoding::protobuf}) {
    request r = recovering(0);
    r.delta = true;
    r.encoding = enc;
    r.filter = &f;
    history_page p;
    p.top = {6, "E"};
    const std::string base(200, 'a');
    for (uint64_t o = 1; o <= 6; ++o) {
      std::string data = "\"" + base + std::to_string(o) + "\"";
      p.publications.push_back(pub(o, data, {{"kind", o == 2 || o == 5 ? "drop" : "keep"}}));
    }
    history_page copy = p;
    auto o = decide(r, std::move(p));
    ASSERT_TRUE(o);
    ASSERT_EQ(offsets(o->publications), (std::vector<uint64_t>{1, 3, 4, 6}));
    EXPECT_FALSE(o->publications[0].delta) << "the first publication is whole";
    // Apply the patches the way the SDK does: each against the last data it holds.
    std::string held;
    for (const auto& sent : o->publications) {
      const std::string& full = copy.publications[sent.offset - 1].data;
      if (sent.delta) {
        auto applied = protocol::fossil_apply(held, sent.data);
        ASSERT_TRUE(applied) << "offset " << sent.offset;
        EXPECT_EQ(*applied, full) << "offset " << sent.offset;
      } else {
        EXPECT_EQ(sent.data, full);
      }
      held = full;
    }
    EXPECT_TRUE(o->publications[1].delta && o->publications[2].delta && o->publications[3].delta);
    EXPECT_TRUE(o->delta_ready) << "the reply ends with the stream's newest publication";
  }
}

TEST(recovery_decide, live_patches_wait_when_the_newest_publication_was_withheld) {
  auto f = kind_eq("keep");
  request r = recovering(0);
  r.delta = true;
  r.filter = &f;
  history_page p;
  p.top = {3, "E"};
  p.publications = {pub(1, "", {{"kind", "keep"}}), pub(2, "", {{"kind", "keep"}}),
                    pub(3, "", {{"kind", "drop"}})};
  auto o = decide(r, p);
  ASSERT_TRUE(o);
  EXPECT_EQ(offsets(o->publications), (std::vector<uint64_t>{1, 2}));
  EXPECT_FALSE(o->delta_ready);
}

TEST(recovery_decide, without_delta_nothing_is_a_patch) {
  auto o = decide(recovering(0), page(1, 3, 3));
  ASSERT_TRUE(o);
  for (const auto& p : o->publications) EXPECT_FALSE(p.delta);
  EXPECT_FALSE(o->delta_ready);
}

// ---- cache mode ----

request cache(uint64_t since, std::string epoch = "E") {
  request r = recovering(since, std::move(epoch));
  r.cache_mode = true;
  return r;
}

history_page newest_first(std::vector<publication> ps, uint64_t top) {
  history_page p;
  p.top = {top, "E"};
  p.publications = std::move(ps);
  return p;
}

TEST(recovery_decide, cache_mode_sends_the_newest_publication_to_a_client_behind) {
  auto o = decide(cache(3), newest_first({pub(9)}, 9));
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->recovered);
  EXPECT_EQ(offsets(o->publications), (std::vector<uint64_t>{9}));
  EXPECT_EQ(o->reply_offset, 3u);
  EXPECT_EQ(o->position.offset, 9u);
}

TEST(recovery_decide, cache_mode_at_the_top_sends_nothing) {
  auto o = decide(cache(9), newest_first({pub(9)}, 9));
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->recovered);
  EXPECT_TRUE(o->publications.empty());
  EXPECT_EQ(o->reply_offset, 9u);
}

// Centrifugo's cache recovery compares the epoch exactly: a client at the top offset that
// sends no epoch (or another one) is not known to hold the newest state and gets it.
TEST(recovery_decide, cache_mode_at_the_top_without_the_epoch_sends_the_newest) {
  for (const char* epoch : {"", "OTHER"}) {
    auto o = decide(cache(9, epoch), newest_first({pub(9)}, 9));
    ASSERT_TRUE(o);
    EXPECT_TRUE(o->recovered) << epoch;
    EXPECT_EQ(offsets(o->publications), (std::vector<uint64_t>{9})) << epoch;
    EXPECT_EQ(o->reply_offset, 9u) << epoch;
  }
  // An empty stream at the same offset without the epoch: nothing to give, not recovered.
  auto o = decide(cache(5, ""), newest_first({}, 5));
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->recovered);
}

TEST(recovery_decide, cache_mode_on_an_empty_stream) {
  auto o = decide(cache(0), newest_first({}, 0));
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->recovered);
  o = decide(cache(5), newest_first({}, 5));
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->recovered);  // same position: nothing missed
}

TEST(recovery_decide, cache_mode_with_a_filter_sends_the_newest_matching_publication) {
  auto f = kind_eq("keep");
  request r = cache(3);
  r.filter = &f;
  auto o = decide(r, newest_first({pub(9, "", {{"kind", "drop"}}), pub(8, "", {{"kind", "keep"}}),
                                   pub(7, "", {{"kind", "keep"}})},
                                  9));
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->recovered);
  EXPECT_EQ(offsets(o->publications), (std::vector<uint64_t>{8}));
  // None matches: as if the stream were empty.
  o = decide(r, newest_first({pub(9, "", {{"kind", "drop"}})}, 9));
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->recovered);
  EXPECT_TRUE(o->publications.empty());
}

// ---- the merge ----

std::vector<buffered_event> pubs_of(const std::vector<uint64_t>& offs, const std::string& epoch) {
  std::vector<buffered_event> v;
  for (uint64_t o : offs) v.push_back({true, o, &epoch});
  return v;
}

std::vector<uint64_t> delivered(const merge_plan& plan, const std::vector<buffered_event>& ev) {
  std::vector<uint64_t> v;
  for (uint32_t i : plan.deliver) v.push_back(ev[i].offset);
  return v;
}

TEST(recovery_merge, publications_after_the_position_in_offset_order_once) {
  const std::string e = "E";
  auto ev = pubs_of({86, 84, 85, 85, 83, 87}, e);
  auto plan = merge({84, "E"}, true, ev);
  EXPECT_FALSE(plan.lost_continuity);
  EXPECT_EQ(delivered(plan, ev), (std::vector<uint64_t>{85, 86, 87}));
  EXPECT_EQ(plan.position, (stream_position{87, "E"}));
}

TEST(recovery_merge, a_missing_offset_delivers_what_precedes_it_then_loses_continuity) {
  const std::string e = "E";
  auto ev = pubs_of({85, 87, 88}, e);
  auto plan = merge({84, "E"}, true, ev);
  EXPECT_TRUE(plan.lost_continuity);
  EXPECT_EQ(delivered(plan, ev), (std::vector<uint64_t>{85}));
  EXPECT_EQ(plan.position.offset, 85u);
}

TEST(recovery_merge, another_epoch_loses_continuity_an_unknown_one_is_adopted) {
  const std::string other = "F";
  auto ev = pubs_of({85}, other);
  EXPECT_TRUE(merge({84, "E"}, true, ev).lost_continuity);
  auto plan = merge({0, ""}, true, pubs_of({1}, other));
  EXPECT_FALSE(plan.lost_continuity);
  EXPECT_EQ(plan.position, (stream_position{1, "F"}));
}

TEST(recovery_merge, joins_and_leaves_keep_their_place_and_unpositioned_keeps_arrival_order) {
  const std::string e = "E";
  std::vector<buffered_event> ev = {{true, 86, &e}, {false, 0, nullptr}, {true, 85, &e}};
  auto plan = merge({84, "E"}, true, ev);
  EXPECT_EQ(plan.deliver, (std::vector<uint32_t>{2, 1, 0}));  // 85, the join, 86
  plan = merge({84, "E"}, false, ev);
  EXPECT_EQ(plan.deliver, (std::vector<uint32_t>{0, 1, 2}));
}

// Every arrival order of the publications published while the stream was read, with the
// read taken at every point: what the client receives is the reply (since+1 .. top) and
// then exactly top+1 .. last, in order, and nothing is lost.
TEST(recovery_merge, every_arrival_order_and_read_point_gives_one_ordered_gap_free_stream) {
  const std::string e = "E";
  const uint64_t since = 10;
  for (uint64_t last = since; last <= since + 5; ++last) {
    for (uint64_t top = since; top <= last; ++top) {  // the read saw since+1 .. top
      // Buffered: the publications made after the subscription was registered; each
      // of them in any order, and those before the read possibly not (yet) among them.
      std::vector<uint64_t> live(last - since);
      std::iota(live.begin(), live.end(), since + 1);
      std::sort(live.begin(), live.end());
      do {
        for (size_t dropped_before_read = 0; dropped_before_read <= top - since;
             ++dropped_before_read) {
          // Publications <= top may be missing from the buffer (they are in the read); the
          // ones after the read are always buffered.
          std::vector<uint64_t> buffered;
          for (uint64_t o : live)
            if (o > since + dropped_before_read) buffered.push_back(o);
          auto ev = pubs_of(buffered, e);
          auto decided = decide(recovering(since), page(top > since ? since + 1 : 0, top, top));
          ASSERT_TRUE(decided);
          ASSERT_TRUE(decided->recovered);
          auto plan = merge(decided->position, true, ev);
          std::vector<uint64_t> got = offsets(decided->publications);
          for (uint64_t o : delivered(plan, ev)) got.push_back(o);
          std::vector<uint64_t> want(last - since);
          std::iota(want.begin(), want.end(), since + 1);
          ASSERT_FALSE(plan.lost_continuity) << "top " << top << " last " << last;
          ASSERT_EQ(got, want) << "top " << top << " last " << last;
        }
      } while (std::next_permutation(live.begin(), live.end()));
    }
  }
}

}  // namespace
}  // namespace gyre::recovery
