// redact: hides secrets in text meant for logs and error messages.
#pragma once

#include <string>
#include <string_view>

namespace gyre {

// The URL (or comma-separated URLs) with the password of each userinfo replaced by "***":
// "nats://alice:s3cret@h:4222" -> "nats://alice:***@h:4222"; a userinfo without ':' is a
// token and is hidden whole ("nats://tok@h" -> "nats://***@h"). Anything else unchanged.
std::string redact_url_passwords(std::string_view urls);

}  // namespace gyre
