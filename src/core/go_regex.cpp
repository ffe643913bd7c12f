// go_regex: RE2 with Go's options; see go_regex.hpp.
#include "core/go_regex.hpp"

#include <re2/re2.h>

#include <vector>

namespace gyre {

namespace {

// Rewrites `(?<name>` to `(?P<name>` outside character classes, `\Q...\E` quotes and
// escapes; everything else is copied unchanged (RE2 judges it).
std::string spell_named_groups_for_re2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 8);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      if (!in_class && p[i + 1] == 'Q') {  // \Q...\E (or to the end) is literal text
        const size_t end = p.find("\\E", i + 2);
        const size_t stop = end == std::string_view::npos ? p.size() : end + 2;
        out.append(p.substr(i, stop - i));
        i = stop - 1;
        continue;
      }
      out.append(p.substr(i, 2));
      ++i;
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < p.size() && p[i + 1] == ':') {  // [:alpha:] inside a class
        const size_t end = p.find(":]", i + 2);
        if (end != std::string_view::npos) {
          out.append(p.substr(i, end + 2 - i));
          i = end + 1;
          continue;
        }
      }
      if (c == ']') in_class = false;
      out.push_back(c);
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.push_back(c);
      // A ']' right after '[' or '[^' is a member, not the end of the class.
      if (i + 1 < p.size() && p[i + 1] == '^') out.push_back(p[++i]);
      if (i + 1 < p.size() && p[i + 1] == ']') out.push_back(p[++i]);
      continue;
    }
    if (c == '(' && p.substr(i, 3) == "(?<" && p.substr(i, 4) != "(?<=" &&
        p.substr(i, 4) != "(?<!") {
      out.append("(?P<");
      i += 2;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

RE2::Options go_options() {
  RE2::Options o;
  o.set_log_errors(false);
  return o;  // UTF-8, leftmost-first, Perl classes and \b: Go's defaults
}

}  // namespace

go_regex::go_regex(std::string_view pattern) : pattern_(pattern) {
  const std::string spelled = spell_named_groups_for_re2(pattern);
  auto re = std::make_shared<const RE2>(spelled, go_options());
  if (re->ok()) {
    re_ = std::move(re);
  } else {
    error_ = "invalid regular expression: " + re->error();
  }
}

bool go_regex::matches(std::string_view text) const {
  return re_ && RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

std::optional<std::string> go_regex::named_group(std::string_view text,
                                                 const std::string& name) const {
  if (!re_) return std::nullopt;
  const auto& groups = re_->NamedCapturingGroups();
  auto it = groups.find(name);
  if (it == groups.end()) return std::nullopt;
  std::vector<re2::StringPiece> sub(static_cast<size_t>(it->second) + 1);
  if (!re_->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED,
                  sub.data(), static_cast<int>(sub.size())))
    return std::nullopt;
  const re2::StringPiece& g = sub[static_cast<size_t>(it->second)];
  if (g.data() == nullptr) return std::nullopt;
  return std::string(g.data(), g.size());
}

std::map<std::string, int> go_regex::named_groups() const {
  if (!re_) return {};
  return re_->NamedCapturingGroups();
}

}  // namespace gyre
