// Go duration parsing and formatting; see duration.hpp.
#include "config/duration.hpp"

#include <cstdint>
#include <limits>

namespace gyre::config {

namespace {

constexpr uint64_t k_max_magnitude = uint64_t{1} << 63;  // |INT64_MIN|

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Nanoseconds per unit, 0 for an unknown unit.
uint64_t unit_nanos(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" /* U+00B5 micro sign */ || u == "\xCE\xBCs" /* U+03BC mu */)
    return 1'000;
  if (u == "ms") return 1'000'000;
  if (u == "s") return 1'000'000'000;
  if (u == "m") return 60'000'000'000;
  if (u == "h") return 3'600'000'000'000;
  return 0;
}

// Reads leading decimal digits into `out`; false on overflow past 2^63.
bool leading_int(std::string_view& s, uint64_t& out) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (v > k_max_magnitude / 10) return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    if (v > k_max_magnitude) return false;
  }
  s.remove_prefix(i);
  out = v;
  return true;
}

// Reads leading fraction digits; keeps as many as fit and ignores the rest (like Go).
void leading_fraction(std::string_view& s, uint64_t& value, double& scale) {
  value = 0;
  scale = 1;
  bool overflow = false;
  size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (overflow) continue;
    if (value > (std::numeric_limits<uint64_t>::max() >> 1) / 10) {
      overflow = true;
      continue;
    }
    uint64_t y = value * 10 + static_cast<uint64_t>(s[i] - '0');
    if (y > k_max_magnitude) {
      overflow = true;
      continue;
    }
    value = y;
    scale *= 10;
  }
  s.remove_prefix(i);
}

}  // namespace

std::optional<duration> parse_go_duration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;

  // Extension over Go: a bare integer is a count of nanoseconds ("0", "-1", "300").
  bool all_digits = true;
  for (char c : s) all_digits = all_digits && is_digit(c);
  if (all_digits) {
    uint64_t v = 0;
    std::string_view rest = s;
    if (!leading_int(rest, v)) return std::nullopt;
    if (!negative && v > k_max_magnitude - 1) return std::nullopt;
    return duration{negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v)};
  }

  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || is_digit(s[0]))) return std::nullopt;
    size_t before = s.size();
    uint64_t whole = 0;
    if (!leading_int(s, whole)) return std::nullopt;
    bool has_int = before != s.size();
    uint64_t frac = 0;
    double scale = 1;
    bool has_frac = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t b = s.size();
      leading_fraction(s, frac, scale);
      has_frac = b != s.size();
    }
    if (!has_int && !has_frac) return std::nullopt;  // "." or ".s"
    size_t i = 0;
    while (i < s.size() && s[i] != '.' && !is_digit(s[i])) ++i;
    if (i == 0) return std::nullopt;  // missing unit
    uint64_t unit = unit_nanos(s.substr(0, i));
    if (unit == 0) return std::nullopt;
    s.remove_prefix(i);
    if (whole > k_max_magnitude / unit) return std::nullopt;
    whole *= unit;
    if (frac > 0) {
      whole +=
          static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit) / scale));
      if (whole > k_max_magnitude) return std::nullopt;
    }
    total += whole;
    if (total > k_max_magnitude) return std::nullopt;
  }
  if (negative) return duration{static_cast<int64_t>(0 - total)};
  if (total > k_max_magnitude - 1) return std::nullopt;
  return duration{static_cast<int64_t>(total)};
}

namespace {

// Appends v / 10^prec with trailing zeros of the fraction dropped; returns the integer part.
uint64_t append_fraction(std::string& out, uint64_t v, int prec) {
  std::string digits;
  bool printed = false;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = v % 10;
    printed = printed || digit != 0;
    if (printed) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (printed) out.insert(0, "." + digits);
  return v;
}

}  // namespace

std::string format_go_duration(duration d) {
  int64_t n = d.count();
  if (n == 0) return "0s";
  bool negative = n < 0;
  uint64_t u = negative ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string out;  // built back to front by inserting at 0
  if (u < 1'000'000'000) {
    // Sub-second: a single unit with a fraction.
    int prec = 0;
    const char* unit = "";
    if (u < 1'000) {
      unit = "ns";
    } else if (u < 1'000'000) {
      prec = 3;
      unit = "\xC2\xB5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    out = unit;
    u = append_fraction(out, u, prec);
    out.insert(0, std::to_string(u));
  } else {
    out = "s";
    u = append_fraction(out, u, 9);
    out.insert(0, std::to_string(u % 60));
    u /= 60;
    if (u > 0) {
      out.insert(0, "m");
      out.insert(0, std::to_string(u % 60));
      u /= 60;
      if (u > 0) {
        out.insert(0, "h");
        out.insert(0, std::to_string(u));
      }
    }
  }
  if (negative) out.insert(0, "-");
  return out;
}

}  // namespace gyre::config
