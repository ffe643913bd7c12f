// glob matcher; see glob.hpp. Backtracking over `*` and alternatives, with a step budget
// so that a hostile pattern cannot burn the CPU.
#include "core/glob.hpp"

#include <cstddef>
#include <string>

namespace gyre {

namespace {

struct matcher {
  size_t budget = 100000;
  bool malformed = false;

  // Finds the end of the `{...}` group starting at p[i] == '{' (index of the matching '}').
  size_t group_end(std::string_view p, size_t i) {
    int depth = 0;
    for (size_t k = i; k < p.size(); ++k) {
      if (p[k] == '\\') {
        ++k;
        continue;
      }
      if (p[k] == '{') ++depth;
      if (p[k] == '}' && --depth == 0) return k;
    }
    malformed = true;
    return std::string_view::npos;
  }

  // Matches one character class at p[i] == '['; returns the index after ']' or npos.
  size_t class_end(std::string_view p, size_t i) {
    size_t k = i + 1;
    if (k < p.size() && p[k] == '!') ++k;
    if (k < p.size() && p[k] == ']') ++k;
    for (; k < p.size(); ++k)
      if (p[k] == ']') return k + 1;
    malformed = true;
    return std::string_view::npos;
  }

  bool class_matches(std::string_view cls, char c) {
    // cls is the text between '[' and ']'.
    bool negate = !cls.empty() && cls[0] == '!';
    if (negate) cls.remove_prefix(1);
    bool hit = false;
    for (size_t k = 0; k < cls.size(); ++k) {
      if (k + 2 < cls.size() && cls[k + 1] == '-') {
        if (c >= cls[k] && c <= cls[k + 2]) hit = true;
        k += 2;
      } else if (cls[k] == c) {
        hit = true;
      }
    }
    return hit != negate;
  }

  bool match(std::string_view p, std::string_view t) {
    if (budget == 0 || malformed) return false;
    --budget;
    size_t i = 0, j = 0;
    while (i < p.size()) {
      char c = p[i];
      if (c == '*') {
        while (i < p.size() && p[i] == '*') ++i;
        if (i == p.size()) return true;
        for (size_t k = j; k <= t.size(); ++k)
          if (match(p.substr(i), t.substr(k))) return true;
        return false;
      }
      if (c == '{') {
        size_t end = group_end(p, i);
        if (end == std::string_view::npos) return false;
        std::string_view rest = p.substr(end + 1);
        std::string_view body = p.substr(i + 1, end - i - 1);
        // Split the body on top-level commas.
        size_t start = 0;
        int depth = 0;
        for (size_t k = 0; k <= body.size(); ++k) {
          if (k < body.size() && body[k] == '\\') {
            ++k;
            continue;
          }
          if (k < body.size() && body[k] == '{') ++depth;
          if (k < body.size() && body[k] == '}') --depth;
          if (k == body.size() || (body[k] == ',' && depth == 0)) {
            std::string alt = std::string(body.substr(start, k - start)) + std::string(rest);
            if (match(alt, t.substr(j))) return true;
            start = k + 1;
          }
        }
        return false;
      }
      if (j >= t.size()) return false;
      if (c == '?') {
        ++i;
        ++j;
        continue;
      }
      if (c == '[') {
        size_t end = class_end(p, i);
        if (end == std::string_view::npos) return false;
        if (!class_matches(p.substr(i + 1, end - i - 2), t[j])) return false;
        i = end;
        ++j;
        continue;
      }
      if (c == '\\' && i + 1 < p.size()) c = p[++i];
      if (c != t[j]) return false;
      ++i;
      ++j;
    }
    return j == t.size();
  }
};

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  matcher m;
  return m.match(pattern, text);
}

bool glob_valid(std::string_view pattern) {
  matcher m;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
    } else if (pattern[i] == '[') {
      size_t e = m.class_end(pattern, i);
      if (e == std::string_view::npos) return false;
      i = e - 1;
    } else if (pattern[i] == '{') {
      size_t e = m.group_end(pattern, i);
      if (e == std::string_view::npos) return false;
    }
  }
  return true;
}

}  // namespace gyre
