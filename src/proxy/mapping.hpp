// mapping: what the client sees of a proxy call's outcome (docs/proxy.md): the backend's
// disconnect (code, reason), else its error (code, message, temporary), else nothing (ok).
// A failed call (unreachable, timeout, unexpected status, bad body) and an error or
// disconnect with code 0 are error 100 (internal, temporary).
#pragma once

#include "core/result.hpp"
#include "proxy/proxy_call.hpp"

namespace gyre::proxy {

// The strings of the result point into `o`: use it while `o` lives.
status refusal_of(const outcome& o);

}  // namespace gyre::proxy
