// redis_presence: see redis_presence.hpp.
#include "broker/redis/redis_presence.hpp"

#include <algorithm>
#include <set>

#include "broker/pb_wire.hpp"
#include "core/log.hpp"

namespace gyre::redis {

redis_presence::redis_presence(std::shared_ptr<engine_core> core, options opts, clock& clk)
    : core_(std::move(core)),
      opts_(opts),
      clock_(clk),
      alive_(std::make_shared<std::atomic<bool>>(true)) {}

redis_presence::~redis_presence() {
  stop();
}

void redis_presence::stop() {
  if (!alive_->exchange(false)) return;
  core_->run_on_io([] {});  // a callback running now finishes before stop() returns
}

std::vector<std::string> redis_presence::keys(std::string_view channel) const {
  return {core_->key("presence.expire", channel), core_->key("presence.data", channel),
          core_->key("presence.user.expire", channel),
          core_->key("presence.user.clients", channel)};
}

void redis_presence::add(std::string_view channel, const client_info& info, status_callback done) {
  if (!alive_->load()) {
    if (done) done(errors::internal);
    return;
  }
  const int64_t ttl = opts_.ttl.count() > 0 ? opts_.ttl.count() : 60;
  auto alive = alive_;
  core_->shard_of(channel).exec_script(
      presence_add_script(), keys(channel),
      {std::to_string(ttl), std::to_string(clock_.now_unix() + ttl), info.client,
       pb_wire::encode_client_info(info), info.user, opts_.user_mapping ? "1" : "0",
       opts_.hash_field_ttl ? "1" : "0"},
      [alive, done = std::move(done)](reply&& r) {
        if (!alive->load() || !done) return;
        if (r.is_error()) {
          log::warn("redis: presence add failed: {}", r.str);
          return done(errors::internal);
        }
        done(ok_v);
      });
}

void redis_presence::remove(std::string_view channel, std::string_view client_id,
                            std::string_view user, status_callback done) {
  if (!alive_->load()) {
    if (done) done(errors::internal);
    return;
  }
  auto alive = alive_;
  core_->shard_of(channel).exec_script(
      presence_remove_script(), keys(channel),
      {std::string(client_id), std::string(user), opts_.user_mapping ? "1" : "0"},
      [alive, done = std::move(done)](reply&& r) {
        if (!alive->load() || !done) return;
        if (r.is_error()) {
          log::warn("redis: presence remove failed: {}", r.str);
          return done(errors::internal);
        }
        done(ok_v);
      });
}

namespace {

bool parse_presence(const reply& r, presence_map& out) {
  if (r.type != reply::kind::array) return false;
  out.reserve(r.elements.size() / 2);
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    client_info info;
    if (!pb_wire::decode_client_info(r.elements[i + 1].str, info)) continue;
    out.emplace_back(r.elements[i].str, std::move(info));
  }
  return true;
}

}  // namespace

void redis_presence::presence(std::string_view channel, callback<presence_map> done) {
  if (!alive_->load()) {
    if (done) done(errors::internal);
    return;
  }
  auto alive = alive_;
  auto k = keys(channel);
  k.resize(2);
  core_->shard_of(channel).exec_script(presence_get_script(), std::move(k),
                                       {std::to_string(clock_.now_unix())},
                                       [alive, done = std::move(done)](reply&& r) {
                                         if (!alive->load() || !done) return;
                                         presence_map m;
                                         if (r.is_error() || !parse_presence(r, m)) {
                                           log::warn("redis: presence read failed: {}", r.str);
                                           return done(errors::internal);
                                         }
                                         done(std::move(m));
                                       });
}

void redis_presence::stats(std::string_view channel, callback<presence_stats> done) {
  if (!alive_->load()) {
    if (done) done(errors::internal);
    return;
  }
  auto alive = alive_;
  if (opts_.user_mapping) {
    core_->shard_of(channel).exec_script(
        presence_stats_script(), keys(channel), {std::to_string(clock_.now_unix())},
        [alive, done = std::move(done)](reply&& r) {
          if (!alive->load() || !done) return;
          if (r.type != reply::kind::array || r.elements.size() < 2 || !r.elements[0].as_int() ||
              !r.elements[1].as_int()) {
            return done(errors::internal);
          }
          presence_stats st;
          st.num_clients = static_cast<uint32_t>(*r.elements[0].as_int());
          st.num_users = static_cast<uint32_t>(*r.elements[1].as_int());
          done(st);
        });
    return;
  }
  presence(channel, [done = std::move(done)](result<presence_map> r) {
    if (!done) return;
    if (!r.ok()) return done(r.error());
    std::set<std::string_view> users;
    for (const auto& [id, info] : *r) users.insert(info.user);
    done(presence_stats{static_cast<uint32_t>(r->size()), static_cast<uint32_t>(users.size())});
  });
}

}  // namespace gyre::redis
