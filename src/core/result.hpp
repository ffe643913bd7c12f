// result<T>: a value or a protocol error, for the data path where exceptions are not used
// (STYLE rule 7). Deliberately tiny: C++20 has no std::expected.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "core/error_codes.hpp"

namespace gyre {

template <typename T>
class result {
 public:
  result(T value) : v_(std::move(value)) {}                    // NOLINT: implicit by design
  result(protocol_error error) : v_(error) { assert(error); }  // NOLINT
  // A disconnect outcome (for operations whose failure ends the connection).
  result(disconnect d) : v_(d) { assert(d); }  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  bool is_disconnect() const { return v_.index() == 2; }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  protocol_error error() const { return v_.index() == 1 ? std::get<1>(v_) : protocol_error{}; }
  disconnect as_disconnect() const { return v_.index() == 2 ? std::get<2>(v_) : disconnect{}; }

 private:
  std::variant<T, protocol_error, disconnect> v_;
};

// For operations without a value.
struct ok_t {};
inline constexpr ok_t ok_v{};
using status = result<ok_t>;

}  // namespace gyre
