// go_regex: a regular expression in Go's `regexp` syntax, the syntax of every pattern option
// Centrifugo has (`client.token.audience_regex` / `issuer_regex`, the same keys under
// `client.subscription_token`, a namespace's `channel_regex`). RE2 implements that syntax,
// and this class is the only place in Gyre that compiles such a pattern: config validation
// (`checkconfig`) and the code that uses a pattern (token verifier, channel rules) therefore
// always agree on whether it is valid and on what it matches.
//
// What holds:
//  * Every pattern is compiled with the same RE2 options: UTF-8, leftmost-first matching
//    (Go's default), Perl classes and word boundaries, no logging to stderr.
//  * `(?<name>re)` (a named group in Go 1.22 and later) means the same as `(?P<name>re)`;
//    the RE2 release Gyre builds against only knows the second spelling.
//  * matches() is Go's `MatchString`: the pattern matches anywhere in the text unless it
//    anchors itself with `^` / `$` (or `\A` / `\z`).
//  * Matching takes time linear in the text (RE2 never backtracks), so untrusted text of
//    any length may be matched.
// Thread safety: immutable after construction; copies share the compiled program and may be
// used from any thread at once.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace gyre {

class go_regex {
 public:
  // Compiles `pattern`; check ok() before use. An empty pattern is valid and matches all.
  explicit go_regex(std::string_view pattern);

  bool ok() const { return re_ != nullptr; }
  // Why the pattern did not compile, e.g. "invalid regular expression: missing ): (a";
  // empty when ok().
  const std::string& error() const { return error_; }
  const std::string& pattern() const { return pattern_; }

  // Go's MatchString. False when !ok().
  bool matches(std::string_view text) const;

  // The text the named group `name` captured in the leftmost match in `text` (Go's
  // FindStringSubmatch); nullopt when there is no match, no such group, or it took no part.
  std::optional<std::string> named_group(std::string_view text, const std::string& name) const;

  // Named capture groups: name -> 1-based group index. Empty when !ok().
  std::map<std::string, int> named_groups() const;

 private:
  std::string pattern_;
  std::string error_;
  std::shared_ptr<const re2::RE2> re_;
};

}  // namespace gyre
