// A deliberately simple, independent RFC 8259 syntax checker used as the fuzz oracle for
// the JSON codec (the decoder uses simdjson On-Demand; this shares no code with it).
// Syntax only: numbers of any magnitude are valid (1e400 is JSON), strings must be UTF-8
// without raw control characters. Recursion is bounded by `max_depth`.
#pragma once

#include <string_view>

#include "core/utf8.hpp"

namespace gyre::fuzz {

class json_syntax {
 public:
  // True if `s` is exactly one JSON value, optionally surrounded by whitespace.
  static bool valid(std::string_view s, int max_depth = 1024) {
    json_syntax p(s, max_depth);
    p.ws();
    if (!p.value(0)) return false;
    p.ws();
    return p.i_ == s.size();
  }

 private:
  json_syntax(std::string_view s, int max_depth) : s_(s), max_depth_(max_depth) {}

  bool eof() const { return i_ >= s_.size(); }
  char peek() const { return eof() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() != c || eof()) return false;
    ++i_;
    return true;
  }
  void ws() {
    while (!eof() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  static bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  bool digits() {
    if (eof() || !digit(s_[i_])) return false;
    while (!eof() && digit(s_[i_])) ++i_;
    return true;
  }

  bool number() {
    eat('-');
    if (eat('0')) {
    } else if (!digits()) {
      return false;
    }
    if (eat('.') && !digits()) return false;
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      if (!digits()) return false;
    }
    return true;
  }

  bool string() {
    if (!eat('"')) return false;
    size_t start = i_;
    while (!eof()) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        bool ok = is_valid_utf8(s_.substr(start, i_ - start));
        ++i_;
        return ok;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++i_;
        if (eof()) return false;
        char e = s_[i_++];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k) {
            if (eof() || !hex(s_[i_])) return false;
            ++i_;
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
        continue;
      }
      ++i_;
    }
    return false;
  }

  bool value(int depth) {
    if (depth >= max_depth_) return false;
    switch (peek()) {
      case '{': {
        ++i_;
        ws();
        if (eat('}')) return true;
        for (;;) {
          ws();
          if (!string()) return false;
          ws();
          if (!eat(':')) return false;
          ws();
          if (!value(depth + 1)) return false;
          ws();
          if (eat('}')) return true;
          if (!eat(',')) return false;
        }
      }
      case '[': {
        ++i_;
        ws();
        if (eat(']')) return true;
        for (;;) {
          ws();
          if (!value(depth + 1)) return false;
          ws();
          if (eat(']')) return true;
          if (!eat(',')) return false;
        }
      }
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  int max_depth_;
};

}  // namespace gyre::fuzz
