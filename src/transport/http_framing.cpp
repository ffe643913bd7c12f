// http_framing implementation; see http_framing.hpp.
#include "transport/http_framing.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

namespace gyre::http_framing {

namespace http = boost::beast::http;

namespace {

// tchar of RFC 9110: the characters of a token (a coding name).
bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  return true;
}

// The transfer codings of every Transfer-Encoding field, in order, as one list.
verdict check_transfer_encoding(const http::request_header<>& head) {
  constexpr verdict malformed{400, "malformed Transfer-Encoding"};
  size_t codings = 0, chunked = 0;
  bool last_is_chunked = false, chunked_with_parameters = false;
  auto range = head.equal_range(http::field::transfer_encoding);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view rest(it->value().data(), it->value().size());
    while (true) {
      size_t comma = rest.find(',');
      std::string_view element = trim(rest.substr(0, comma));
      if (!element.empty()) {  // empty list elements are allowed and ignored
        size_t semi = element.find(';');
        std::string_view name = trim(element.substr(0, semi));
        if (!is_token(name)) return malformed;
        ++codings;
        last_is_chunked = boost::beast::iequals(name, "chunked");
        if (last_is_chunked) {
          ++chunked;
          if (semi != std::string_view::npos) chunked_with_parameters = true;
        }
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (codings == 0) return malformed;
  if (!last_is_chunked) return {400, "chunked is not the final transfer coding"};
  if (chunked > 1) return {400, "chunked is applied more than once"};
  if (chunked_with_parameters) return {400, "chunked takes no parameters"};
  if (codings > 1) return {501, "only the chunked transfer coding is implemented"};
  return {};
}

}  // namespace

verdict check_request(const http::request_header<>& head, bool read_as_chunked) {
  const unsigned version = head.version();  // 10 or 11: Beast refuses any other
  const size_t hosts = head.count(http::field::host);
  if (version >= 11 && hosts != 1) return {400, hosts == 0 ? "missing Host" : "more than one Host"};
  const size_t lengths = head.count(http::field::content_length);
  if (head.count(http::field::transfer_encoding) > 0) {
    if (version < 11) return {400, "Transfer-Encoding in an HTTP/1.0 request"};
    if (lengths > 0) return {400, "both Transfer-Encoding and Content-Length"};
    verdict v = check_transfer_encoding(head);
    if (v.ok() && !read_as_chunked) return {400, "malformed Transfer-Encoding"};
    return v;
  }
  if (read_as_chunked) return {400, "malformed Transfer-Encoding"};  // cannot happen
  if (lengths > 1) return {400, "more than one Content-Length"};
  if (lengths == 1) {
    auto v = head.find(http::field::content_length)->value();
    // 1*DIGIT, and short enough not to overflow: Beast also accepts lists ("5, 5").
    if (v.empty() || v.size() > 18) return {400, "invalid Content-Length"};
    for (char c : v)
      if (c < '0' || c > '9') return {400, "invalid Content-Length"};
  }
  return {};
}

verdict for_read_error(const boost::system::error_code& ec) {
  if (ec.category() != http::make_error_code(http::error::end_of_stream).category()) return {};
  switch (static_cast<http::error>(ec.value())) {
    case http::error::end_of_stream:
    case http::error::partial_message:
      return {};
    case http::error::header_limit:
      return {431, "request header too large"};
    case http::error::body_limit:
      return {413, "request body too large"};
    case http::error::bad_transfer_encoding:
      return {400, "malformed Transfer-Encoding"};
    case http::error::bad_content_length:
    case http::error::multiple_content_length:
      return {400, "invalid Content-Length"};
    case http::error::bad_line_ending:
      return {400, "bad line ending"};
    case http::error::bad_chunk:
    case http::error::bad_chunk_extension:
      return {400, "malformed chunk"};
    case http::error::bad_version:
      return {400, "malformed or unsupported HTTP version (1.0 and 1.1 are)"};
    default:
      return {400, "malformed request"};
  }
}

}  // namespace gyre::http_framing
