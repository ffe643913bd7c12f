// nats_broker: see the header. Channel ↔ subject mapping lives in nats_subject, the Push
// encoding in nats_push_codec, the connection, queueing and confirmation in nats_link.
#include "broker/nats/nats_broker.hpp"

#include <utility>

#include "broker/nats/nats_link.hpp"
#include "broker/nats/nats_push_codec.hpp"
#include "broker/nats/nats_subject.hpp"
#include "core/log.hpp"

namespace gyre {

nats_broker::nats_broker(std::unique_ptr<nats_link> link, options opts)
    : link_(std::move(link)), opts_(std::move(opts)), client_prefix_(opts_.prefix + ".client.") {}

nats_broker::~nats_broker() {
  stop();
}

void nats_broker::start(broker_event_handler& handler) {
  handler_.store(&handler);
}

void nats_broker::stop() {
  stopped_.store(true);
  link_->stop();  // idempotent; after it no message callback runs
  handler_.store(nullptr);
}

std::string nats_broker::subject_for(std::string_view channel) const {
  std::string subject;
  if (opts_.raw_mode) {
    subject = opts_.raw_prefix + nats_subject::replace(channel, opts_.raw_replacements);
  } else {
    subject = client_prefix_;
    subject += channel;
  }
  if (channel.empty() || !nats_subject::is_valid_subject(subject)) return {};
  return subject;
}

void nats_broker::subscribe(std::string_view channel, status_callback done) {
  if (stopped_.load()) return done ? done(errors::internal) : void();
  const bool wildcard = nats_subject::is_wildcard_channel(channel);
  std::string subject = subject_for(channel);
  if ((wildcard && !opts_.allow_wildcards) || subject.empty()) {
    return done ? done(errors::bad_request) : void();
  }
  std::string key(channel);
  link_->subscribe(
      key, std::move(subject),
      [this, ch = key, wildcard](std::string_view subj, std::string_view data) {
        on_message(ch, wildcard, subj, data);
      },
      std::move(done));
}

void nats_broker::unsubscribe(std::string_view channel) {
  link_->unsubscribe(std::string(channel));
}

void nats_broker::publish(std::string_view channel, publication pub, const publish_options& opts,
                          callback<publish_outcome> done) {
  if (stopped_.load()) return done ? done(errors::internal) : void();
  std::string subject = nats_subject::is_wildcard_channel(channel) ? "" : subject_for(channel);
  if (subject.empty()) return done ? done(errors::bad_request) : void();
  std::string payload = opts_.raw_mode
                            ? std::move(pub.data)
                            : nats_push::encode_publication(channel, pub, opts.use_delta);
  status_callback on_done;
  if (done) {
    on_done = [done = std::move(done)](status st) {
      if (st) return done(publish_outcome{});
      done(st.error());
    };
  }
  link_->publish(std::move(subject), std::move(payload), std::move(on_done));
}

void nats_broker::publish_join(std::string_view channel, const client_info& info,
                               status_callback done) {
  send_presence(channel, info, true, std::move(done));
}

void nats_broker::publish_leave(std::string_view channel, const client_info& info,
                                status_callback done) {
  send_presence(channel, info, false, std::move(done));
}

void nats_broker::send_presence(std::string_view channel, const client_info& info, bool join,
                                status_callback done) {
  if (stopped_.load()) return done ? done(errors::internal) : void();
  if (opts_.raw_mode) return done ? done(ok_v) : void();  // raw subjects carry data only
  std::string subject = nats_subject::is_wildcard_channel(channel) ? "" : subject_for(channel);
  if (subject.empty()) return done ? done(errors::bad_request) : void();
  link_->publish(
      std::move(subject),
      join ? nats_push::encode_join(channel, info) : nats_push::encode_leave(channel, info),
      std::move(done));
}

void nats_broker::history(std::string_view, const history_query&, callback<history_page> done) {
  if (done) done(errors::not_available);
}

void nats_broker::remove_history(std::string_view, status_callback done) {
  if (done) done(errors::not_available);
}

void nats_broker::stream_tops(std::vector<std::string>,
                              callback<std::vector<stream_position>> done) {
  if (done) done(errors::not_available);
}

void nats_broker::on_message(const std::string& channel, bool wildcard, std::string_view subject,
                             std::string_view data) {
  broker_event_handler* h = handler_.load();
  if (h == nullptr) return;  // not started: at most once, nothing to keep
  auto out = std::make_shared<delivered_publication>();
  out->channel = channel;
  if (opts_.raw_mode) {
    if (wildcard && subject.starts_with(opts_.raw_prefix)) {
      out->specific_channel = subject.substr(opts_.raw_prefix.size());
    }
    out->pub.data = data;
    h->on_publication(std::move(out));
    return;
  }
  auto push = nats_push::decode(data);
  if (!push) {
    const auto n = undecodable_.fetch_add(1) + 1;
    if ((n & (n - 1)) == 0) {  // 1, 2, 4, ...: visible, never a flood
      log::warn("nats: message on {} is not a Centrifugo Push; dropped ({} so far)", subject, n);
    }
    return;
  }
  switch (push->what) {
    case nats_push::kind::publication:
      if (wildcard && subject.starts_with(client_prefix_)) {
        out->specific_channel = subject.substr(client_prefix_.size());
      }
      out->pub = std::move(push->pub);
      out->epoch = std::move(push->epoch);
      out->use_delta = push->use_delta;
      h->on_publication(std::move(out));
      return;
    case nats_push::kind::join:
      if (!wildcard) h->on_join(channel, push->info);
      return;
    case nats_push::kind::leave:
      if (!wildcard) h->on_leave(channel, push->info);
      return;
  }
}

bool nats_broker::healthy() const {
  return !stopped_.load() && link_->healthy();
}

void nats_broker::set_state_callback(std::function<void(bool healthy)> fn) {
  link_->set_state_callback(std::move(fn));
}

nats_broker::stats nats_broker::snapshot() const {
  const auto l = link_->snapshot();
  stats s;
  s.published = l.published;
  s.publish_failures = l.publish_failures;
  s.received = l.received;
  s.undecodable = undecodable_.load();
  s.slow_consumer_events = l.slow_consumer_events;
  s.disconnects = l.disconnects;
  s.reconnects = l.reconnects;
  s.subscriptions = l.subscriptions;
  return s;
}

}  // namespace gyre
