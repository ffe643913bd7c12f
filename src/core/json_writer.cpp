// json_writer implementation; see json_writer.hpp.
#include "core/json_writer.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include "core/utf8.hpp"

namespace gyre {

void json_writer::escape_into(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run of bytes that need no escaping in one go.
    size_t run = i;
    while (run < s.size()) {
      unsigned char c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out.append(s.data() + i, run - i);
    i = run;
    if (i >= s.size()) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t len = utf8_sequence_length(s, i);
      if (len == 0) {
        out.append("\\ufffd");
        ++i;
      } else if (len == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                 (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
                  static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
        // U+2028 / U+2029: legal in JSON but line terminators in JavaScript source.
        out.append(static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
        i += 3;
      } else {
        out.append(s.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        char buf[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
        out.append(buf, 6);
      }
    }
    ++i;
  }
}

void json_writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ > 0) {
    uint64_t bit = uint64_t{1} << (depth_ & 63);
    if (has_items_ & bit) out_.push_back(',');
    has_items_ |= bit;
  }
}

json_writer& json_writer::open(char c) {
  before_value();
  out_.push_back(c);
  ++depth_;
  has_items_ &= ~(uint64_t{1} << (depth_ & 63));
  return *this;
}

json_writer& json_writer::close(char c) {
  out_.push_back(c);
  --depth_;
  return *this;
}

json_writer& json_writer::key(std::string_view k) {
  before_value();
  out_.push_back('"');
  escape_into(out_, k);
  out_.append("\":");
  after_key_ = true;
  return *this;
}

json_writer& json_writer::string(std::string_view s) {
  before_value();
  out_.push_back('"');
  escape_into(out_, s);
  out_.push_back('"');
  return *this;
}

json_writer& json_writer::number(uint64_t v) {
  before_value();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}

json_writer& json_writer::number(int64_t v) {
  before_value();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}

json_writer& json_writer::number(double v) {
  before_value();
  if (!std::isfinite(v)) {
    out_.append("0");
    return *this;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}

json_writer& json_writer::boolean(bool v) {
  before_value();
  out_.append(v ? "true" : "false");
  return *this;
}

json_writer& json_writer::null() {
  before_value();
  out_.append("null");
  return *this;
}

json_writer& json_writer::raw(std::string_view json) {
  before_value();
  if (json.empty()) {
    out_.append("null");
    return *this;
  }
  // Almost every payload has no raw newline: two memchr scans decide that at memory speed.
  if (!std::memchr(json.data(), '\n', json.size()) &&
      !std::memchr(json.data(), '\r', json.size())) {
    out_.append(json.data(), json.size());
    return *this;
  }
  out_.reserve(out_.size() + json.size());
  for (char c : json)
    if (c != '\n' && c != '\r') out_.push_back(c);
  return *this;
}

}  // namespace gyre
