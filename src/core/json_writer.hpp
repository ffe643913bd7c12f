// json_writer: appends compact JSON to a std::string. Used by every encoder that speaks
// JSON (client protocol, server API, proxies, metrics). It never emits a raw newline, so
// its output is safe for '\n'-framed batches and SSE `data:` lines.
// Strings are escaped; invalid UTF-8 is replaced by U+FFFD (as Go's encoding/json does) so
// that a text frame is always valid UTF-8. raw() embeds an already-encoded JSON value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gyre {

class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}

  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }

  // Object member name; the next value call writes its value.
  json_writer& key(std::string_view k);

  json_writer& string(std::string_view s);
  json_writer& number(uint64_t v);
  json_writer& number(int64_t v);
  json_writer& number(uint32_t v) { return number(static_cast<uint64_t>(v)); }
  json_writer& number(int32_t v) { return number(static_cast<int64_t>(v)); }
  json_writer& number(double v);
  json_writer& boolean(bool v);
  json_writer& null();
  // Embeds an encoded JSON value verbatim, minus raw '\n' and '\r' bytes (which valid
  // JSON can hold only as whitespace between tokens). Empty input writes `null`.
  json_writer& raw(std::string_view json);

  // Shorthands for `key(k).value(v)`.
  template <typename V>
  json_writer& member(std::string_view k, V v) {
    key(k);
    return value(v);
  }
  json_writer& member_raw(std::string_view k, std::string_view json) {
    key(k);
    return raw(json);
  }

  json_writer& value(std::string_view s) { return string(s); }
  json_writer& value(const char* s) { return string(s); }
  json_writer& value(const std::string& s) { return string(s); }
  json_writer& value(bool b) { return boolean(b); }
  json_writer& value(uint64_t v) { return number(v); }
  json_writer& value(int64_t v) { return number(v); }
  json_writer& value(uint32_t v) { return number(v); }
  json_writer& value(int32_t v) { return number(v); }
  json_writer& value(double v) { return number(v); }

  std::string& out() { return out_; }

  // Appends `s` escaped as JSON string content (no surrounding quotes).
  static void escape_into(std::string& out, std::string_view s);

 private:
  json_writer& open(char c);
  json_writer& close(char c);
  void before_value();

  std::string& out_;
  uint64_t has_items_ = 0;  // bit d: the container at depth d already has an item
  int depth_ = 0;
  bool after_key_ = false;
};

}  // namespace gyre
