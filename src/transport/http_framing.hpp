// http_framing: whether the head of an HTTP/1.1 request says unambiguously where its body
// ends, and how the listener answers a request it cannot use. This is the defence against
// request smuggling (docs/design/http-server.md): a request whose framing two parsers could
// read differently is refused and its connection closed, never read on.
//
// What must hold:
//  * Only `Transfer-Encoding: chunked` frames a body by chunks. Any other coding list is
//    refused: 400 when `chunked` is not the single final coding (the body length cannot be
//    known), 501 when `chunked` is final but preceded by a coding Gyre does not implement.
//  * `Transfer-Encoding` together with `Content-Length`, in an HTTP/1.0 request, more than
//    one `Content-Length`, or one that is not a plain decimal number: 400.
//  * An HTTP/1.1 request has exactly one `Host`.
//  * Every verdict other than `ok` closes the connection after its response.
//  * Beast's own parse errors map to 400, except an oversized head (431) or body (413);
//    end of stream and socket errors map to no response at all (the peer is gone).
//
// Pure functions over a parsed Beast header: no I/O, any thread.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>

#include <string_view>

namespace gyre::http_framing {

struct verdict {
  unsigned status = 0;      // 0 = usable; else the HTTP status to answer before closing
  std::string_view reason;  // one line for the response body and the log

  bool ok() const { return status == 0; }
};

// Checks the head of a request that Beast parsed without error. `read_as_chunked` is
// the parser's own reading (parser.chunked()): a head accepted as chunked must also be
// read as chunked, so that this check and the parser can never disagree on the framing.
verdict check_request(const boost::beast::http::request_header<>& head, bool read_as_chunked);

// The answer to a Beast read error; status 0 = close without answering.
verdict for_read_error(const boost::system::error_code& ec);

}  // namespace gyre::http_framing
