// consumer_set: builds, starts and stops the enabled consumers; see the header.
#include "consumers/consumer_set.hpp"

#include <future>
#include <vector>

#include <boost/asio/post.hpp>

#include "consumers/dispatch.hpp"
#include "consumers/nats_jetstream_consumer.hpp"
#include "consumers/postgresql_consumer.hpp"
#include "consumers/redis_stream_consumer.hpp"
#include "core/log.hpp"
#include "transport/io_thread.hpp"

namespace gyre::consumers {

struct consumer_set::impl {
  std::unique_ptr<consumer_metrics> metrics;
  io_thread thread;
  std::vector<std::unique_ptr<redis_stream_consumer>> redis;
  std::vector<std::unique_ptr<nats_jetstream_consumer>> nats;
  std::vector<std::unique_ptr<postgresql_consumer>> postgresql;  // threads of their own
  bool started = false;
};

consumer_set::consumer_set() : impl_(std::make_unique<impl>()) {}

consumer_set::~consumer_set() {
  stop();
}

std::unique_ptr<consumer_set> consumer_set::create(const config::config& cfg, api_executor& exec,
                                                   const std::string& node_id,
                                                   metrics::registry& registry,
                                                   std::string& error) {
  std::unique_ptr<consumer_set> set(new consumer_set());
  auto& im = *set->impl_;
  for (size_t i = 0; i < cfg.consumers_.size(); ++i) {
    const auto& c = cfg.consumers_[i];
    std::string key = "consumers[" + std::to_string(i) + "]";
    if (!c.enabled_) {
      log::write(spdlog::level::info, "consumer: not enabled, skipped",
                 {{"consumer", c.name_}, {"type", c.type_}});
      continue;
    }
    if (!im.metrics) im.metrics = std::make_unique<consumer_metrics>(registry);
    auto d = std::make_unique<dispatcher>(exec, c.name_, *im.metrics);
    if (c.type_ == "redis_stream") {
      auto r = std::make_unique<redis_stream_consumer>(
          im.thread.io(), c.redis_stream_, key + ".redis_stream", node_id, std::move(d));
      if (error = r->prepare(); !error.empty()) return nullptr;
      im.redis.push_back(std::move(r));
    } else if (c.type_ == "nats_jetstream") {
      auto n = std::make_unique<nats_jetstream_consumer>(im.thread.io(), c.nats_jetstream_,
                                                         key + ".nats_jetstream", std::move(d));
      if (error = n->prepare(); !error.empty()) return nullptr;
      im.nats.push_back(std::move(n));
    } else if (c.type_ == "postgresql") {
      auto p =
          std::make_unique<postgresql_consumer>(c.postgresql_, key + ".postgresql", std::move(d));
      if (error = p->prepare(); !error.empty()) return nullptr;
      im.postgresql.push_back(std::move(p));
    } else {
      error = key + ".enabled: the " + c.type_ + " consumer (\"" + c.name_ +
              "\") is not implemented by Gyre (docs/supported-options.md); disable it";
      return nullptr;
    }
  }
  return set;
}

void consumer_set::start() {
  for (auto& p : impl_->postgresql) p->start();
  if (impl_->redis.empty() && impl_->nats.empty()) return;
  impl_->thread.start();
  impl_->started = true;
  for (auto& r : impl_->redis) r->start();
  for (auto& n : impl_->nats) n->start();
}

void consumer_set::stop() {
  for (auto& p : impl_->postgresql) p->stop();
  if (!impl_->started) return;
  impl_->started = false;
  std::promise<void> stopped;
  boost::asio::post(impl_->thread.io(), [this, &stopped] {
    for (auto& r : impl_->redis) r->stop_on_io();
    stopped.set_value();
  });
  stopped.get_future().wait();
  for (auto& n : impl_->nats) n->stop();
  impl_->thread.stop();
  impl_->thread.join();
}

}  // namespace gyre::consumers
