// Clocks. Code that makes time-based decisions (token expiry, history TTL) takes a
// `clock&` so that tests can inject time (STYLE: Envoy-style injected clock).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace gyre {

class clock {
 public:
  virtual ~clock() = default;
  // Wall time, milliseconds since the Unix epoch.
  virtual int64_t now_unix_ms() const = 0;
  // Monotonic time, milliseconds since an arbitrary origin.
  virtual int64_t now_mono_ms() const = 0;
  int64_t now_unix() const { return now_unix_ms() / 1000; }
};

class system_clock final : public clock {
 public:
  int64_t now_unix_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t now_mono_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static system_clock& instance() {
    static system_clock c;
    return c;
  }
};

// A clock tests move by hand.
class manual_clock final : public clock {
 public:
  explicit manual_clock(int64_t unix_ms = 1'700'000'000'000) : unix_ms_(unix_ms) {}
  int64_t now_unix_ms() const override { return unix_ms_.load(); }
  int64_t now_mono_ms() const override { return unix_ms_.load(); }
  void advance_ms(int64_t ms) { unix_ms_ += ms; }
  void set_unix_ms(int64_t ms) { unix_ms_ = ms; }

 private:
  std::atomic<int64_t> unix_ms_;
};

}  // namespace gyre
