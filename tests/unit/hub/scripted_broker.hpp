// scripted_broker: a broker whose every asynchronous step is taken by the test, to drive
// the hub through chosen (or all) interleavings. It behaves like the Redis engine as the
// hub sees it: a channel is delivered to the node only after subscribe() is confirmed;
// PUB/SUB messages of a channel come in the order the publications were made; a history
// read is a snapshot taken at one moment and answered later; replies come back in the
// order the reads were sent. Optionally it also plays the Redis engine's rough edges: an
// unsubscribe that takes effect later than the call (`deferred_unsubscribe`), and a PUB/SUB
// connection that drops its messages and comes back (`drop_pubsub`, `restore_pubsub`).
//
// Threading: the test's thread only.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "broker/broker.hpp"

namespace gyre::testing {

class scripted_broker final : public broker {
 public:
  struct stream {
    std::string epoch = "E1";
    uint64_t top = 0;
    std::vector<publication> pubs;
  };
  struct read {
    std::string channel;
    history_query q;
    callback<history_page> done;
    std::optional<result<history_page>> answer;  // set once the read was taken
  };

  // ---- broker ----
  void start(broker_event_handler& handler) override { handler_ = &handler; }
  void stop() override {}
  void subscribe(std::string_view channel, status_callback done) override {
    if (subscribed.count(std::string(channel))) return done(ok_v);  // already confirmed
    confirmations.emplace_back(std::string(channel), std::move(done));
  }
  void unsubscribe(std::string_view channel) override {
    if (deferred_unsubscribe)
      unsubscribes.emplace_back(channel);
    else
      subscribed.erase(std::string(channel));
  }
  void publish(std::string_view channel, publication p, const publish_options&,
               callback<publish_outcome> done) override {
    make_publication(std::string(channel), std::move(p));
    if (done) done(publish_outcome{});
  }
  void publish_join(std::string_view, const client_info&, status_callback done) override {
    if (done) done(ok_v);
  }
  void publish_leave(std::string_view, const client_info&, status_callback done) override {
    if (done) done(ok_v);
  }
  void history(std::string_view channel, const history_query& q,
               callback<history_page> done) override {
    reads.push_back(read{std::string(channel), q, std::move(done), std::nullopt});
  }
  void remove_history(std::string_view, status_callback done) override { done(ok_v); }
  // Answered at once from the streams, after the barrier the Redis engine puts behind the
  // read: every message in flight on the PUB/SUB connection is handed to the node first.
  void stream_tops(std::vector<std::string> channels,
                   callback<std::vector<stream_position>> done) override {
    while (!in_flight.empty()) deliver(0);
    std::vector<stream_position> tops;
    for (const auto& ch : channels) {
      const stream& s = streams[ch];
      tops.push_back(stream_position{s.top, s.epoch});
    }
    done(std::move(tops));
  }
  bool supports_history() const override { return true; }

  // ---- steps the test takes ----
  // A publication into `channel`'s stream; queued for delivery if the node receives it.
  uint64_t make_publication(const std::string& channel, publication p = {}) {
    stream& s = streams[channel];
    p.offset = ++s.top;
    if (p.data.empty()) p.data = std::to_string(p.offset);
    s.pubs.push_back(p);
    if (subscribed.count(channel)) {
      auto d = std::make_shared<delivered_publication>();
      d->channel = channel;
      d->pub = std::move(p);
      d->epoch = s.epoch;
      in_flight.push_back(std::move(d));
    }
    return s.top;
  }
  // Hands the i-th message in flight to the node (0: the oldest, as PUB/SUB does).
  void deliver(size_t i = 0) {
    if (i >= in_flight.size()) throw std::logic_error("no such message in flight");
    auto d = in_flight[i];
    in_flight.erase(in_flight.begin() + static_cast<long>(i));
    handler_->on_publication(std::move(d));
  }
  // Confirms the oldest node-level subscription.
  void confirm(status st = ok_v) {
    if (confirmations.empty()) throw std::logic_error("no subscription to confirm");
    auto [channel, done] = std::move(confirmations.front());
    confirmations.pop_front();
    if (st) subscribed.insert(channel);
    done(st);
  }
  // Applies the oldest deferred unsubscribe.
  void apply_unsubscribe() {
    if (unsubscribes.empty()) throw std::logic_error("no unsubscribe to apply");
    subscribed.erase(unsubscribes.front());
    unsubscribes.pop_front();
  }
  // The PUB/SUB connection drops: messages in flight are lost, nothing is delivered until
  // restore_pubsub(); the node is not told (as with the Redis engine).
  void drop_pubsub() {
    in_flight.clear();
    dropped.insert(subscribed.begin(), subscribed.end());
    subscribed.clear();
  }
  void restore_pubsub() {
    subscribed.insert(dropped.begin(), dropped.end());
    dropped.clear();
  }
  // Takes the snapshot of the oldest read not yet taken (or fails it).
  bool can_take() const {
    return std::any_of(reads.begin(), reads.end(), [](const read& r) { return !r.answer; });
  }
  void take(std::optional<protocol_error> fail = std::nullopt) {
    for (read& r : reads) {
      if (r.answer) continue;
      if (fail) {
        r.answer = result<history_page>(*fail);
        return;
      }
      stream& s = streams[r.channel];
      history_page page;
      page.top = {s.top, s.epoch};
      if (r.q.limit != 0) {
        std::vector<publication> all = s.pubs;
        if (r.q.reverse) std::reverse(all.begin(), all.end());
        for (auto& p : all) {
          if (r.q.since &&
              (r.q.reverse ? p.offset >= r.q.since->offset : p.offset <= r.q.since->offset))
            continue;
          if (r.q.limit > 0 && page.publications.size() >= static_cast<size_t>(r.q.limit)) break;
          page.publications.push_back(p);
        }
      }
      r.answer = std::move(page);
      return;
    }
  }
  // Answers the oldest read, which must have been taken.
  bool can_answer() const { return !reads.empty() && reads.front().answer; }
  void answer() {
    if (!can_answer()) throw std::logic_error("no read taken to answer");
    read r = std::move(reads.front());
    reads.pop_front();
    r.done(std::move(*r.answer));
  }

  std::map<std::string, stream> streams;
  std::set<std::string> subscribed;  // channels delivered to the node
  std::deque<std::pair<std::string, status_callback>> confirmations;
  std::deque<std::shared_ptr<delivered_publication>> in_flight;
  std::deque<read> reads;
  bool deferred_unsubscribe = false;
  std::deque<std::string> unsubscribes;
  std::set<std::string> dropped;

 private:
  broker_event_handler* handler_ = nullptr;
};

}  // namespace gyre::testing
