// proxy_codec: the JSON bodies of HTTP proxy calls (Centrifugo's proxy request and
// response objects, snake_case keys, empty fields left out except `user` where Centrifugo
// always sends it). Pure functions; unit-tested in tests/unit/proxy/proxy_codec_test.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/proxy_call.hpp"

namespace gyre::proxy {

// Encodes `r` into `out`. False when a payload cannot be sent as JSON (a non-JSON `data`
// without binary_encoding: Centrifugo's encoder fails the call the same way).
bool encode_request(const request& r, std::string& out);

// Decodes a response body. nullopt (and `why`) when it is not a proxy response: not a JSON
// object, a field of the wrong type, invalid base64 in a b64 field.
std::optional<reply> decode_reply(call_kind k, std::string_view body, std::string& why);

}  // namespace gyre::proxy
