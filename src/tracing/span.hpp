// span: one finished (or running) operation as it is exported: ids, name, kind, times,
// status and attributes. Plain data; the tracer fills the ids and times, the code that
// runs the operation adds attributes and the status.
//
// What holds: attribute keys are string literals (static storage), so a span copies only
// its values; a span that is not `recording` (its parent was not sampled) is dropped by
// tracer::end. Thread safety: a span is touched by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tracing/trace_context.hpp"

namespace gyre::tracing {

// OTLP Span.SpanKind values.
enum class span_kind : uint8_t { internal = 1, server = 2, client = 3 };
// OTLP Status.StatusCode values.
enum class status_code : uint8_t { unset = 0, ok = 1, error = 2 };

struct attribute {
  enum class type : uint8_t { string, integer, boolean };
  std::string_view key;  // a string literal
  type t = type::string;
  std::string text;
  int64_t number = 0;  // integer, or 0/1 for boolean
};

struct span {
  span_context context;
  span_id parent{};  // all zero: a root span
  std::string trace_state;
  std::string name;
  span_kind kind = span_kind::server;
  uint64_t start_unix_ns = 0;
  uint64_t end_unix_ns = 0;
  status_code status = status_code::unset;
  std::string status_message;
  std::vector<attribute> attributes;
  bool recording = true;

  bool has_parent() const {
    for (uint8_t b : parent)
      if (b) return true;
    return false;
  }
  void set(std::string_view key, std::string value) {
    attributes.push_back({key, attribute::type::string, std::move(value), 0});
  }
  void set_int(std::string_view key, int64_t value) {
    attributes.push_back({key, attribute::type::integer, {}, value});
  }
  void set_bool(std::string_view key, bool value) {
    attributes.push_back({key, attribute::type::boolean, {}, value ? 1 : 0});
  }
  void fail(std::string message) {
    status = status_code::error;
    status_message = std::move(message);
  }
};

}  // namespace gyre::tracing
