// nats_subject: how channels become NATS subjects and back (engines.md §5), with no I/O.
//
// - Channel traffic goes to `<prefix>.client.<channel>`; in raw mode to
//   `<raw prefix><channel after channel_replacements>`.
// - Control traffic goes to `<prefix>.control` (every node) and `<prefix>.node.<uid>`.
// - A channel containing `*` or `>` is a wildcard channel (Centrifugo's rule: anywhere in
//   the name). It may be subscribed only with allow_wildcards and is never published to.
// - A subject that would break the NATS text protocol (empty, whitespace or control bytes,
//   empty tokens such as "a..b") is rejected here, so no channel name can smuggle a reply
//   subject or a queue group into a PUB/SUB line.
//
// Everything here is a pure function of its arguments; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace gyre::nats_subject {

// True when the channel name contains `*` or `>`.
bool is_wildcard_channel(std::string_view channel);

// True when `subject` can be sent in a NATS PUB or SUB line: non-empty, no byte <= 0x20
// or 0x7f, no empty token. Wildcard tokens are not treated specially.
bool is_valid_subject(std::string_view subject);

// NATS subject matching: `pattern` tokens `*` match exactly one token, a final `>`
// matches one or more tokens; other tokens match literally.
bool matches(std::string_view pattern, std::string_view subject);

// Applies raw-mode channel_replacements like Go's strings.Replacer: scanning left to
// right, at each position the first (in key order) non-empty key that matches is
// replaced and scanning resumes after it; replaced text is not rescanned.
std::string replace(std::string_view channel, const std::map<std::string, std::string>& repl);

}  // namespace gyre::nats_subject
