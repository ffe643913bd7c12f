// json_out: a small streaming JSON writer for gyre-bench's result files. Keys and string
// values are escaped; numbers are written as given (doubles with up to 6 significant
// decimals, never NaN/inf: those become null).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace gyre::bench {

class json_out {
 public:
  json_out& begin_object() { return open('{'); }
  json_out& end_object() { return close('}'); }
  json_out& begin_array() { return open('['); }
  json_out& end_array() { return close(']'); }

  json_out& key(std::string_view k) {
    comma();
    str(k);
    s_ += ':';
    after_key_ = true;
    return *this;
  }
  json_out& value(std::string_view v) {
    comma();
    str(v);
    return *this;
  }
  json_out& value(const char* v) { return value(std::string_view(v)); }
  json_out& value(const std::string& v) { return value(std::string_view(v)); }
  json_out& value(bool v) {
    comma();
    s_ += v ? "true" : "false";
    return *this;
  }
  json_out& value(double v) {
    comma();
    if (!std::isfinite(v)) {
      s_ += "null";
      return *this;
    }
    char b[64];
    std::snprintf(b, sizeof b, "%.6g", v);
    s_ += b;
    return *this;
  }
  json_out& value(uint64_t v) {
    comma();
    s_ += std::to_string(v);
    return *this;
  }
  json_out& value(int64_t v) {
    comma();
    s_ += std::to_string(v);
    return *this;
  }
  json_out& value(uint32_t v) { return value(static_cast<uint64_t>(v)); }
  json_out& value(int v) { return value(static_cast<int64_t>(v)); }

  template <typename T>
  json_out& member(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  const std::string& str() const { return s_; }

 private:
  json_out& open(char c) {
    comma();
    s_ += c;
    first_.push_back(true);
    return *this;
  }
  json_out& close(char c) {
    s_ += c;
    first_.pop_back();
    return *this;
  }
  void comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) s_ += ',';
    first_.back() = false;
  }
  void str(std::string_view v) {
    s_ += '"';
    for (char ch : v) {
      auto u = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        s_ += '\\';
        s_ += ch;
      } else if (u < 0x20) {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", u);
        s_ += b;
      } else {
        s_ += ch;
      }
    }
    s_ += '"';
  }

  std::string s_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace gyre::bench
