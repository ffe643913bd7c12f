// redact: the one function that hides secrets in text meant for logs, health reports and
// error messages (Redis addresses, NATS URLs, any other configured URL). Every place that
// prints such a setting calls it; nothing else in Gyre writes "***".
//
// What holds: a password never survives, whatever the text looks like. When it is
// unclear where a secret ends (a ',' or '@' inside a password, a list of URLs without
// schemes), more is hidden rather than less. Text without secrets is returned unchanged.
// Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace gyre {

// `text` (a URL, an address, or a comma-separated list of them) with secrets replaced by
// "***":
//  * the password of each userinfo: "nats://alice:s3cret@h:4222" -> "nats://alice:***@h:4222",
//    "redis://:pw@h/2" -> "redis://:***@h/2", "user:pw@h:6379" -> "user:***@h:6379"; a
//    userinfo without ':' is a token and is hidden whole ("nats://tok@h" -> "nats://***@h");
//    the userinfo ends at the last '@' of the authority, so '@' and ',' inside a password
//    are hidden with it;
//  * the value of every query parameter whose name contains "password", "passwd", "secret"
//    or "token" (any case): "redis://h?sentinel_password=pw&db=1" ->
//    "redis://h?sentinel_password=***&db=1".
std::string redact_url_passwords(std::string_view text);

}  // namespace gyre
