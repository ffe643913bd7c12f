// JWKS key cache and its fetch thread; see jwks_cache.hpp.
#include "auth/jwks_cache.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace gyre::auth {

namespace {

// The threads of destroyed caches. A cache's destructor never waits for its thread (it may
// be destroyed on an event loop while a fetch runs); the thread is joined here once it
// ended (at the next retirement), or at process exit (bounded by one fetch's time), so that
// no thread outlives the process's static objects.
struct thread_reaper {
  std::mutex mu;
  std::vector<std::pair<std::thread, std::shared_ptr<jwks_cache::state>>> threads;
  ~thread_reaper() {
    for (auto& t : threads) t.first.join();
  }
};

thread_reaper& reaper() {
  static thread_reaper r;
  return r;
}

}  // namespace

struct jwks_cache::state {
  jwks_fetch fetch;
  jwks_options opts;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  struct entry {
    std::shared_ptr<const jwk_set> set;  // null until a fetch succeeded
    int64_t fetched_ms = 0;              // when `set` arrived
    int64_t started_ms = INT64_MIN / 2;  // when the last fetch started
    uint64_t started = 0;                // fetches started
    uint64_t installed = 0;              // the number (`started`) of the fetch `set` came from
    bool queued = false;                 // waiting in the queue (not started)
    std::string error;                   // of the last failed fetch
    // Kids a lookup missed -> the number of the first fetch that started after the miss.
    std::map<std::string, uint64_t, std::less<>> missed;
  };
  std::map<std::string, entry, std::less<>> entries;
  std::deque<std::string> queue;
  uint64_t fetches = 0;
  std::atomic<bool> exited{false};  // run() returned: joining the thread is instant

  int64_t now() const {
    if (opts.now_ms) return opts.now_ms();
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Under mu.
  void queue_fetch(const std::string& url, entry& e) {
    if (e.queued) return;
    e.queued = true;
    queue.push_back(url);
    cv.notify_one();
  }

  void run() {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stop || !queue.empty(); });
      if (stop) break;
      // Fetches of one URL start refresh_interval apart: wait (in steps, so that a test
      // clock and stop() are noticed) until the front URL may be fetched again.
      auto it = entries.find(queue.front());
      if (it == entries.end()) {
        queue.pop_front();
        continue;
      }
      const int64_t wait = it->second.started_ms + opts.refresh_interval.count() - now();
      if (wait > 0) {
        cv.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(wait, 20)));
        continue;
      }
      std::string url = std::move(queue.front());
      queue.pop_front();
      entry& started = it->second;
      started.queued = false;
      started.started_ms = now();
      const uint64_t number = ++started.started;
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
      if (stop) break;  // the cache is gone: nothing of its options may be used any more
      ++fetches;
      auto done = entries.find(url);
      if (done == entries.end()) continue;
      if (set) {
        done->second.set = std::move(set);
        done->second.fetched_ms = now();
        done->second.installed = number;
        done->second.error.clear();
      } else {
        done->second.error = std::move(error);
      }
    }
    exited.store(true);
  }
};

jwks_cache::jwks_cache(jwks_fetch fetch, jwks_options opts) : state_(std::make_shared<state>()) {
  state_->fetch = std::move(fetch);
  state_->opts = std::move(opts);
  thread_ = std::thread([s = state_] { s->run(); });
}

jwks_cache::~jwks_cache() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
    state_->cv.notify_all();
  }
  thread_reaper& r = reaper();
  std::lock_guard lock(r.mu);
  auto& ts = r.threads;
  for (auto it = ts.begin(); it != ts.end();) {
    if (it->second->exited.load()) {
      it->first.join();
      it = ts.erase(it);
    } else {
      ++it;
    }
  }
  ts.emplace_back(std::move(thread_), state_);
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
        s.queue_fetch(url, e);  // stale: refresh, keep answering meanwhile
      return {status::found, k, {}};
    }
    auto miss = e.missed.find(kid);
    if (miss != e.missed.end() && e.installed >= miss->second)
      return {status::unknown, std::nullopt, "no key with this kid in the JWKS"};
    if (miss == e.missed.end()) {
      if (e.missed.size() >= s.opts.max_missed) e.missed.clear();
      e.missed.emplace(std::string(kid), e.started + 1);
    }
  }
  s.queue_fetch(url, e);
  std::string why = e.set ? "kid not in the JWKS, refreshing it" : "JWKS not fetched yet";
  if (!e.error.empty()) why += " (last fetch: " + e.error + ")";
  return {status::not_ready, std::nullopt, std::move(why)};
}

void jwks_cache::prefetch(const std::string& url) {
  state& s = *state_;
  std::lock_guard lock(s.mu);
  auto it = s.entries.find(url);
  if (it == s.entries.end()) {
    if (s.entries.size() >= s.opts.max_urls) return;
    it = s.entries.emplace(url, state::entry{}).first;
  }
  s.queue_fetch(url, it->second);
}

uint64_t jwks_cache::fetches() const {
  std::lock_guard lock(state_->mu);
  return state_->fetches;
}

}  // namespace gyre::auth
