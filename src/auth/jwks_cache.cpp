// JWKS key cache and its fetch thread; see jwks_cache.hpp.
#include "auth/jwks_cache.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace gyre::auth {

struct jwks_cache::state {
  jwks_fetch fetch;
  jwks_options opts;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  struct entry {
    std::shared_ptr<const jwk_set> set;  // null until a fetch succeeded
    int64_t fetched_ms = 0;              // when `set` arrived
    int64_t attempt_ms = INT64_MIN / 2;  // when the last fetch was queued
    bool queued = false;                 // queued or running
    std::string error;                   // of the last failed fetch
  };
  std::map<std::string, entry, std::less<>> entries;
  std::deque<std::string> queue;
  uint64_t fetches = 0;

  int64_t now() const {
    if (opts.now_ms) return opts.now_ms();
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Under mu. Queues a fetch of `url` unless one is queued or the last was too recent
  // (`force`: regardless of the interval).
  void queue_fetch(const std::string& url, entry& e, int64_t now_ms, bool force) {
    if (e.queued) return;
    if (!force && now_ms - e.attempt_ms < opts.refresh_interval.count()) return;
    e.queued = true;
    e.attempt_ms = now_ms;
    queue.push_back(url);
    cv.notify_one();
  }

  void run() {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stop || !queue.empty(); });
      if (stop) return;
      std::string url = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      jwks_fetch_result r = fetch(url);
      if (!r.ok) r = fetch(url);  // a second attempt, as Centrifugo
      std::shared_ptr<const jwk_set> set;
      std::string error;
      if (r.ok) {
        auto parsed = parse_jwk_set(r.body);
        if (parsed)
          set = std::make_shared<const jwk_set>(std::move(*parsed));
        else
          error = "bad key set: " + parsed.error();
      } else {
        error = r.error;
      }
      lock.lock();
      ++fetches;
      auto it = entries.find(url);
      if (it == entries.end()) continue;
      it->second.queued = false;
      if (set) {
        it->second.set = std::move(set);
        it->second.fetched_ms = now();
        it->second.error.clear();
      } else {
        it->second.error = std::move(error);
      }
    }
  }
};

jwks_cache::jwks_cache(jwks_fetch fetch, jwks_options opts) : state_(std::make_shared<state>()) {
  state_->fetch = std::move(fetch);
  state_->opts = std::move(opts);
  // The thread keeps the state alive: the destructor does not wait for a fetch.
  std::thread([s = state_] { s->run(); }).detach();
}

jwks_cache::~jwks_cache() {
  std::lock_guard lock(state_->mu);
  state_->stop = true;
  state_->cv.notify_all();
}

jwks_cache::lookup_result jwks_cache::lookup(const std::string& url, std::string_view kid) {
  state& s = *state_;
  const int64_t now = s.now();
  std::lock_guard lock(s.mu);
  auto it = s.entries.find(url);
  if (it == s.entries.end()) {
    if (s.entries.size() >= s.opts.max_urls)
      return {status::not_ready, std::nullopt,
              "more than " + std::to_string(s.opts.max_urls) + " JWKS URLs in use"};
    it = s.entries.emplace(url, state::entry{}).first;
  }
  state::entry& e = it->second;
  if (e.set) {
    for (const jwk& k : e.set->keys) {
      if (k.kid != kid) continue;
      if (now - e.fetched_ms >= std::chrono::milliseconds(s.opts.ttl).count())
        s.queue_fetch(url, e, now, false);  // stale: refresh, keep answering meanwhile
      return {status::found, k, {}};
    }
    if (now - e.fetched_ms < s.opts.refresh_interval.count())
      return {status::unknown, std::nullopt, "no key with this kid in the JWKS"};
  }
  s.queue_fetch(url, e, now, false);
  std::string why = e.set ? "kid not in the JWKS, refreshing it" : "JWKS not fetched yet";
  if (!e.error.empty()) why += " (last fetch: " + e.error + ")";
  return {status::not_ready, std::nullopt, std::move(why)};
}

void jwks_cache::prefetch(const std::string& url) {
  state& s = *state_;
  const int64_t now = s.now();
  std::lock_guard lock(s.mu);
  auto it = s.entries.find(url);
  if (it == s.entries.end()) {
    if (s.entries.size() >= s.opts.max_urls) return;
    it = s.entries.emplace(url, state::entry{}).first;
  }
  s.queue_fetch(url, it->second, now, true);
}

uint64_t jwks_cache::fetches() const {
  std::lock_guard lock(state_->mu);
  return state_->fetches;
}

}  // namespace gyre::auth
