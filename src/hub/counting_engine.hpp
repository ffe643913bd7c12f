// counting_engine: decorators over the broker and the presence manager that count what
// the node asks of them, for centrifugo_node_messages_sent_count{type} and
// centrifugo_node_action_count{action}. Each call costs one relaxed atomic add on a
// counter resolved at construction (no lookup, no lock, no allocation); calls are at
// publish/command rate, never per delivered message.
#pragma once

#include "broker/broker.hpp"
#include "broker/presence_manager.hpp"
#include "core/metrics.hpp"

namespace gyre {

// Counters the decorators update (children of the two families, resolved once).
struct engine_counters {
  metrics::counter* sent_publication = nullptr;
  metrics::counter* sent_join = nullptr;
  metrics::counter* sent_leave = nullptr;
  metrics::counter* publish = nullptr;
  metrics::counter* history = nullptr;
  metrics::counter* history_remove = nullptr;
  metrics::counter* history_stream_top = nullptr;
  metrics::counter* broker_subscribe = nullptr;
  metrics::counter* broker_unsubscribe = nullptr;
  metrics::counter* add_presence = nullptr;
  metrics::counter* remove_presence = nullptr;
  metrics::counter* presence = nullptr;
  metrics::counter* presence_stats = nullptr;
};

class counting_broker final : public broker {
 public:
  counting_broker(broker& inner, const engine_counters& c) : inner_(inner), c_(c) {}
  void start(broker_event_handler& handler) override { inner_.start(handler); }
  void stop() override { inner_.stop(); }
  void subscribe(std::string_view channel, status_callback done) override {
    c_.broker_subscribe->inc();
    inner_.subscribe(channel, std::move(done));
  }
  void unsubscribe(std::string_view channel) override {
    c_.broker_unsubscribe->inc();
    inner_.unsubscribe(channel);
  }
  void publish(std::string_view channel, publication pub, const publish_options& opts,
               callback<publish_outcome> done) override {
    c_.publish->inc();
    c_.sent_publication->inc();
    inner_.publish(channel, std::move(pub), opts, std::move(done));
  }
  void publish_join(std::string_view channel, const client_info& info,
                    status_callback done) override {
    c_.sent_join->inc();
    inner_.publish_join(channel, info, std::move(done));
  }
  void publish_leave(std::string_view channel, const client_info& info,
                     status_callback done) override {
    c_.sent_leave->inc();
    inner_.publish_leave(channel, info, std::move(done));
  }
  void history(std::string_view channel, const history_query& q,
               callback<history_page> done) override {
    c_.history->inc();
    inner_.history(channel, q, std::move(done));
  }
  void remove_history(std::string_view channel, status_callback done) override {
    c_.history_remove->inc();
    inner_.remove_history(channel, std::move(done));
  }
  void stream_tops(std::vector<std::string> channels,
                   callback<std::vector<stream_position>> done) override {
    c_.history_stream_top->inc(channels.size());
    inner_.stream_tops(std::move(channels), std::move(done));
  }
  bool supports_history() const override { return inner_.supports_history(); }
  bool needs_channel_subscriptions() const override { return inner_.needs_channel_subscriptions(); }

 private:
  broker& inner_;
  engine_counters c_;
};

class counting_presence final : public presence_manager {
 public:
  counting_presence(presence_manager& inner, const engine_counters& c) : inner_(inner), c_(c) {}
  void stop() override { inner_.stop(); }
  void add(std::string_view channel, const client_info& info, status_callback done) override {
    c_.add_presence->inc();
    inner_.add(channel, info, std::move(done));
  }
  void remove(std::string_view channel, std::string_view client_id, std::string_view user,
              status_callback done) override {
    c_.remove_presence->inc();
    inner_.remove(channel, client_id, user, std::move(done));
  }
  void presence(std::string_view channel, callback<presence_map> done) override {
    c_.presence->inc();
    inner_.presence(channel, std::move(done));
  }
  void stats(std::string_view channel, callback<presence_stats> done) override {
    c_.presence_stats->inc();
    inner_.stats(channel, std::move(done));
  }

 private:
  presence_manager& inner_;
  engine_counters c_;
};

}  // namespace gyre
