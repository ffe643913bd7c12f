// expected<T, E>: a value or an error value, for auth APIs that must say *why* they failed
// (core's result<T> carries only static protocol codes, and a bad token or a bad config key
// needs a reason for the logs). A small subset of C++23 std::expected.
// Invariant: exactly one of value()/error() is present; asking for the other is a bug
// (asserted in debug builds).
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace gyre::auth {

// Wraps an error so that expected<T, E> can be built from it even when T and E are the same
// type (e.g. expected<std::string, std::string>).
template <typename E>
struct unexpected {
  E error;
};
template <typename E>
unexpected(E) -> unexpected<E>;

template <typename T, typename E>
class expected {
 public:
  expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  template <typename G>
  expected(unexpected<G> u) : v_(std::in_place_index<1>, E(std::move(u.error))) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  E&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, E> v_;
};

}  // namespace gyre::auth
