// emulation_handler: POST /emulation (emulation.handler_prefix), the commands of an
// http_stream or sse session (docs/transports.md). The request names the session and the
// node of its connection; the commands are handed to the session's event loop and run
// there in order, their replies going out on the session's stream.
//
// Answers: 204 once the commands are handed over (or when the session is gone on this
// node: its stream has ended, as Centrifugo answers); 400 for an undecodable body or a
// session id that is not one of ours; 404 for another node's session (the SDK reconnects;
// emulation across nodes is not routed yet); 413 over emulation.max_request_body_size; 405
// for other methods; OPTIONS: the CORS preflight; 429 while the session holds more than
// 1 MiB of commands it has not run.
//
// Threading: runs on whichever thread reads the request; the delivery runs on the
// session's loop, which answers.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "transport/http_types.hpp"

namespace gyre {

struct emulation_handler_options {
  uint64_t max_request_body_size = 65536;  // emulation.max_request_body_size
  std::function<std::vector<std::string>()> allowed_origins;
  std::string node_uid;  // this node: the `node` of its sessions
  std::vector<event_loop*> loops;
};

class emulation_handler final : public http_handler {
 public:
  explicit emulation_handler(emulation_handler_options opts) : opts_(std::move(opts)) {}
  http_admission admit(const http_request& head) override;
  void handle(http_request req, http_reply reply) override;

 private:
  emulation_handler_options opts_;
};

}  // namespace gyre
