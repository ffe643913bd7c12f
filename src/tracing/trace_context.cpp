// trace_context: see trace_context.hpp.
#include "tracing/trace_context.hpp"

#include "core/random.hpp"

namespace gyre::tracing {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not allowed by the format
}

// Lower-case hex of exactly 2 * n characters into `out`.
bool read_hex(std::string_view text, uint8_t* out, size_t n) {
  if (text.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <size_t N>
bool all_zero(const std::array<uint8_t, N>& a) {
  for (uint8_t b : a)
    if (b != 0) return false;
  return true;
}

}  // namespace

std::optional<span_context> parse_traceparent(std::string_view h) {
  // Optional whitespace around a header value is not part of the value.
  while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
  constexpr size_t size = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
  if (h.size() < size) return std::nullopt;
  uint8_t version = 0;
  if (!read_hex(h.substr(0, 2), &version, 1) || version == 0xff) return std::nullopt;
  if (version == 0 && h.size() != size) return std::nullopt;
  if (h.size() > size && h[size] != '-') return std::nullopt;
  if (h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  span_context c;
  if (!read_hex(h.substr(3, 32), c.trace.data(), 16) ||
      !read_hex(h.substr(36, 16), c.span.data(), 8) || !read_hex(h.substr(53, 2), &c.flags, 1))
    return std::nullopt;
  if (all_zero(c.trace) || all_zero(c.span)) return std::nullopt;
  return c;
}

std::string to_hex(const uint8_t* bytes, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  return out;
}

std::string format_traceparent(const span_context& c) {
  std::string out = "00-";
  out += to_hex(c.trace.data(), c.trace.size());
  out += '-';
  out += to_hex(c.span.data(), c.span.size());
  out += '-';
  out += to_hex(&c.flags, 1);
  return out;
}

namespace {
void fill(uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t r = random_u64();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
}
}  // namespace

trace_id new_trace_id() {
  trace_id t{};
  do fill(t.data(), t.size());
  while (all_zero(t));
  return t;
}

span_id new_span_id() {
  span_id s{};
  do fill(s.data(), s.size());
  while (all_zero(s));
  return s;
}

}  // namespace gyre::tracing
