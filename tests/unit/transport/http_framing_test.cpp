// http_framing: every request head is parsed by Beast exactly as the listener does (head
// first, no body limit yet), split at every position, and judged; the verdict must not
// depend on how the bytes arrive. The refused cases are the request-smuggling variants
// of docs/design/http-server.md.
#include "transport/http_framing.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>

namespace gyre {
namespace {

namespace http = boost::beast::http;

constexpr unsigned not_done = 999;

// Feeds `raw` to a parser in two pieces split at `split` (as two socket reads would) and
// returns the status the listener answers: 0 = accepted, else the refusal.
unsigned judge(std::string_view raw, size_t split) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(1024);
  parser.body_limit(boost::none);
  std::string pending;
  boost::system::error_code ec;
  for (std::string_view piece : {raw.substr(0, split), raw.substr(split)}) {
    pending.append(piece);
    while (!pending.empty() && !parser.is_header_done()) {
      size_t used = parser.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return http_framing::for_read_error(ec).status;
      if (used == 0) break;
    }
    if (parser.is_header_done()) break;
  }
  if (!parser.is_header_done()) return not_done;
  return http_framing::check_request(parser.get(), parser.chunked()).status;
}

// The verdict for `raw` in one piece. Split anywhere, an accepted head is accepted the
// same; a refused one is refused the same or left waiting for more (Beast, once it has
// had to wait, looks for the CRLFCRLF that a bare-LF head never sends; the connection
// then times out): it is never accepted.
unsigned judge(std::string_view raw) {
  unsigned first = judge(raw, raw.size());
  for (size_t split = 0; split < raw.size(); ++split) {
    unsigned v = judge(raw, split);
    bool same = v == first || (first != 0 && v == not_done);
    EXPECT_TRUE(same) << "split at " << split << ": " << v << " instead of " << first
                      << " for: " << raw;
    if (!same) break;
  }
  return first;
}

std::string post(std::string_view fields) {
  return "POST /api/publish HTTP/1.1\r\nHost: gyre\r\n" + std::string(fields) + "\r\n";
}

TEST(http_framing, accepts_ordinary_requests) {
  EXPECT_EQ(judge("GET /health HTTP/1.1\r\nHost: gyre\r\n\r\n"), 0u);
  EXPECT_EQ(judge(post("Content-Length: 5\r\n")), 0u);
  EXPECT_EQ(judge(post("Content-Length: 0\r\n")), 0u);
  EXPECT_EQ(judge(post("Content-Length: 005\r\n")), 0u);
  EXPECT_EQ(judge(post("Transfer-Encoding: chunked\r\n")), 0u);
  EXPECT_EQ(judge(post("Transfer-Encoding: Chunked\r\n")), 0u);
  EXPECT_EQ(judge(post("Transfer-Encoding:chunked\r\n")), 0u);
  EXPECT_EQ(judge(post("Transfer-Encoding: , chunked\r\n")),
            0u);                                         // empty list elements are ignored
  EXPECT_EQ(judge("GET /health HTTP/1.0\r\n\r\n"), 0u);  // HTTP/1.0 needs no Host
  EXPECT_EQ(judge("POST /api HTTP/1.0\r\nContent-Length: 2\r\n\r\n"), 0u);
}

TEST(http_framing, refuses_every_transfer_coding_but_a_single_final_chunked) {
  EXPECT_EQ(judge(post("Transfer-Encoding: identity\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: gzip\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: xchunked\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: chunked, identity\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: chunked, chunked\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: chunked;ext=1\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: \r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: ,\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: \"chunked\"\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: chunked\x0b\r\n")), 400u);
  // chunked is final, but the coding before it is not implemented.
  EXPECT_EQ(judge(post("Transfer-Encoding: gzip, chunked\r\n")), 501u);
  EXPECT_EQ(judge(post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")), 501u);
  // HTTP/1.0 has no transfer codings: the framing is faulty.
  EXPECT_EQ(judge("POST /api HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400u);
}

TEST(http_framing, refuses_transfer_encoding_with_content_length) {
  EXPECT_EQ(judge(post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: 5\r\nTransfer-Encoding: identity\r\n")), 400u);
}

TEST(http_framing, refuses_duplicate_or_invalid_content_length) {
  EXPECT_EQ(judge(post("Content-Length: 5\r\nContent-Length: 5\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: 5\r\nContent-Length: 6\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: 5, 5\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: 5,\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: +5\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: -1\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: 0x10\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: 5 5\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: \r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: 99999999999999999999999\r\n")), 400u);
}

TEST(http_framing, obs_fold_cannot_hide_a_coding_or_a_length) {
  // Beast replaces an obs-fold with a space (allowed); the joined value is then judged.
  EXPECT_EQ(judge(post("Transfer-Encoding: chunked\r\n , identity\r\n")), 400u);
  EXPECT_EQ(judge(post("Transfer-Encoding: identity\r\n\tchunked\r\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length: 5\r\n 5\r\n")), 400u);
}

TEST(http_framing, refuses_malformed_heads) {
  EXPECT_EQ(judge("POST /api HTTP/1.1\nHost: gyre\nContent-Length: 5\n\n"), 400u);  // bare LF
  EXPECT_EQ(judge(post("Content-Length: 5\n")), 400u);
  EXPECT_EQ(judge(post("Content-Length : 5\r\n")), 400u);  // space before the colon
  EXPECT_EQ(judge(post(std::string("X-A: a\0b\r\n", 11))), 400u);
  EXPECT_EQ(judge("POST /api HTTP/1.1\r\nContent-Length: 5\r\n\r\n"), 400u);  // no Host
  EXPECT_EQ(judge(post("Host: other\r\n")), 400u);                            // two Hosts
  EXPECT_EQ(judge("GET /health HTTP/2.0\r\nHost: gyre\r\n\r\n"), 400u);       // only 1.0 and 1.1
  EXPECT_EQ(judge("GET /health HTTP/1.2\r\nHost: gyre\r\n\r\n"), 400u);
  EXPECT_EQ(judge("GET /he alth HTTP/1.1\r\nHost: gyre\r\n\r\n"), 400u);
  EXPECT_EQ(judge("GET /health HTTP/1.1 \r\nHost: gyre\r\n\r\n"), 400u);
}

TEST(http_framing, an_oversized_head_gets_431) {
  EXPECT_EQ(judge(post("X-Big: " + std::string(2000, 'a') + "\r\n")), 431u);
  EXPECT_EQ(judge("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: gyre\r\n\r\n"), 431u);
}

TEST(http_framing, read_errors_that_end_the_stream_get_no_answer) {
  EXPECT_TRUE(http_framing::for_read_error(http::error::end_of_stream).ok());
  EXPECT_TRUE(http_framing::for_read_error(http::error::partial_message).ok());
  EXPECT_TRUE(http_framing::for_read_error(boost::asio::error::operation_aborted).ok());
  EXPECT_EQ(http_framing::for_read_error(http::error::body_limit).status, 413u);
  EXPECT_EQ(http_framing::for_read_error(http::error::bad_chunk).status, 400u);
}

}  // namespace
}  // namespace gyre
