// memory_presence: see memory_presence.hpp.
#include "broker/memory/memory_presence.hpp"

#include <mutex>
#include <string>
#include <utility>

#include "broker/memory/striped_map.hpp"

namespace gyre {

namespace {

using memory_detail::string_map;

struct channel_presence {
  string_map<client_info> clients;  // client id -> info
  string_map<uint32_t> users;       // user id -> number of its clients (> 0)

  void count_user(const std::string& user) { ++users[user]; }
  void uncount_user(const std::string& user) {
    auto it = users.find(user);
    if (it != users.end() && --it->second == 0) users.erase(it);
  }
};

}  // namespace

struct alignas(64) memory_presence::stripe {
  mutable std::mutex mu;
  string_map<channel_presence> channels;
};

memory_presence::memory_presence() : memory_presence(options{}) {}

memory_presence::memory_presence(options opts)
    : stripe_mask_(memory_detail::stripe_count(opts.stripes) - 1),
      stripes_(std::make_unique<stripe[]>(stripe_mask_ + 1)) {}

memory_presence::~memory_presence() = default;

memory_presence::stripe& memory_presence::stripe_for(std::string_view channel) const {
  return stripes_[memory_detail::stripe_index(channel, stripe_mask_)];
}

void memory_presence::stop() {
  stopped_.store(true);
}

void memory_presence::add(std::string_view channel, const client_info& info, status_callback done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  {
    stripe& s = stripe_for(channel);
    std::lock_guard lock(s.mu);
    auto ch = s.channels.find(channel);
    if (ch == s.channels.end()) ch = s.channels.try_emplace(std::string(channel)).first;
    channel_presence& cp = ch->second;
    auto [it, inserted] = cp.clients.try_emplace(info.client, info);
    if (inserted) {
      cp.count_user(info.user);
    } else {
      if (it->second.user != info.user) {
        cp.uncount_user(it->second.user);
        cp.count_user(info.user);
      }
      it->second = info;
    }
  }
  if (done) done(ok_v);
}

void memory_presence::remove(std::string_view channel, std::string_view client_id,
                             std::string_view /*user*/, status_callback done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  {
    stripe& s = stripe_for(channel);
    std::lock_guard lock(s.mu);
    auto ch = s.channels.find(channel);
    if (ch != s.channels.end()) {
      channel_presence& cp = ch->second;
      auto it = cp.clients.find(client_id);
      if (it != cp.clients.end()) {
        cp.uncount_user(it->second.user);
        cp.clients.erase(it);
        if (cp.clients.empty()) s.channels.erase(ch);
      }
    }
  }
  if (done) done(ok_v);
}

void memory_presence::presence(std::string_view channel, callback<presence_map> done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  presence_map out;
  {
    stripe& s = stripe_for(channel);
    std::lock_guard lock(s.mu);
    auto ch = s.channels.find(channel);
    if (ch != s.channels.end()) {
      out.reserve(ch->second.clients.size());
      for (const auto& [id, info] : ch->second.clients) out.emplace_back(id, info);
    }
  }
  if (done) done(std::move(out));
}

void memory_presence::stats(std::string_view channel, callback<presence_stats> done) {
  if (stopped_.load()) {
    if (done) done(errors::internal);
    return;
  }
  presence_stats out;
  {
    stripe& s = stripe_for(channel);
    std::lock_guard lock(s.mu);
    auto ch = s.channels.find(channel);
    if (ch != s.channels.end()) {
      out.num_clients = static_cast<uint32_t>(ch->second.clients.size());
      out.num_users = static_cast<uint32_t>(ch->second.users.size());
    }
  }
  if (done) done(out);
}

size_t memory_presence::channel_count() const {
  size_t n = 0;
  for (size_t i = 0; i <= stripe_mask_; ++i) {
    std::lock_guard lock(stripes_[i].mu);
    n += stripes_[i].channels.size();
  }
  return n;
}

}  // namespace gyre
