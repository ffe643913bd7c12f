// emulation_handler: /emulation; see emulation_handler.hpp.
#include "transport/emulation_handler.hpp"

#include <boost/asio/post.hpp>

#include "core/log.hpp"
#include "transport/cors.hpp"
#include "transport/emulation_request.hpp"
#include "transport/event_loop.hpp"
#include "transport/stream_connection.hpp"

namespace gyre {

namespace {

http_response with_cors(http_response r, const cors::header_list& cors) {
  for (const auto& h : cors) r.headers.push_back(h);
  return r;
}

}  // namespace

http_admission emulation_handler::admit(const http_request& head) {
  if (auto refusal = cors::check_origin(
          head, opts_.allowed_origins ? opts_.allowed_origins() : std::vector<std::string>{}))
    return http_admission::refuse(std::move(*refusal));
  if (head.method == "OPTIONS")
    return http_admission::refuse(cors::preflight(head, "POST, OPTIONS"));
  if (head.method != "POST") {
    http_response r = http_response::text(405, "method not allowed\n");
    r.headers.emplace_back("Allow", "POST, OPTIONS");
    return http_admission::refuse(with_cors(std::move(r), cors::headers_for(head)));
  }
  return http_admission::accept(opts_.max_request_body_size);
}

void emulation_handler::handle(http_request req, http_reply reply) {
  auto cors_fields = cors::headers_for(req);
  std::string_view ct = req.header("content-type");
  const bool protobuf = ct.substr(0, ct.find(';')) == "application/octet-stream";
  emulation_request er;
  std::string error;
  if (!decode_emulation_request(req.body, protobuf, er, error))
    return reply(
        with_cors(http_response::text(400, "bad emulation request: " + error + "\n"), cors_fields));
  if (!er.node.empty() && er.node != opts_.node_uid)
    return reply(with_cors(http_response::text(404, "unknown node\n"), cors_fields));
  int64_t loop = stream_connection::loop_of_session(er.session);
  if (loop < 0 || static_cast<size_t>(loop) >= opts_.loops.size())
    return reply(with_cors(http_response::text(400, "unknown session\n"), cors_fields));
  boost::asio::post(
      opts_.loops[static_cast<size_t>(loop)]->io(),
      [er = std::move(er), reply = std::move(reply),
       cors_fields = std::move(cors_fields)]() mutable {
        auto d = stream_connection::deliver(er.session, er.data);
        if (d == stream_connection::delivery::overloaded)
          return reply(with_cors(
              http_response::text(429, "too many commands waiting in the session\n"), cors_fields));
        http_response r;
        r.status = 204;
        reply(with_cors(std::move(r), cors_fields));
      });
}

}  // namespace gyre
