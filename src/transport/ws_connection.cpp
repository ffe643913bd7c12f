// ws_connection implementation; see ws_connection.hpp.
#include "transport/ws_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/log.hpp"
#include "core/utf8.hpp"
#include "hub/node.hpp"
#include "hub/shard.hpp"
#include "protocol/uni_connect.hpp"

namespace gyre {

namespace {

// The loop's read buffer: every connection of the loop reads into it in turn.
struct read_buffer {
  std::vector<char> bytes;
  char* reserve(size_t n) {
    if (bytes.size() < n) bytes.resize(n);
    return bytes.data();
  }
};
thread_local read_buffer loop_read_buffer;

// Limits of one outgoing data frame: enough to carry a burst of pushes in one write.
constexpr size_t max_frame_chunks = 512;
constexpr size_t max_frame_bytes = 1 << 20;
constexpr int max_iov = 516;

}  // namespace

void ws_connection::start(shard& s, poller& p, int fd, protocol::encoding enc,
                          std::string handshake, std::string leftover, ws_connection_options opts) {
  std::optional<std::string> connect = std::move(opts.connect);
  auto* c = new ws_connection(s, p, fd, enc, std::move(opts));
  if (!p.add(fd, c)) {
    log::warn("epoll registration failed");
    c->client_.on_transport_error();
    c->hard_close();
    return;
  }
  c->queue_control_frame(handshake);
  if (!leftover.empty()) c->partial_ = std::make_unique<std::string>(std::move(leftover));
  if (c->uni_ && connect) {
    c->deliver(*connect);
    if (c->socket_closed_) return;
  }
  c->flush();
  // Bytes that came with the upgrade request are processed like a read.
  if (c->partial_) c->on_turn();
}

ws_connection::ws_connection(shard& s, poller& p, int fd, protocol::encoding enc,
                             ws_connection_options opts)
    : shard_(s),
      poller_(p),
      uni_(opts.unidirectional),
      client_(s, *this, enc),
      parser_(opts.max_message_size),
      fd_(fd),
      uni_join_(opts.join_push_messages),
      uni_disconnect_push_(opts.disconnect_push),
      encoding_(enc) {
  if (opts.deflate) {
    parser_.allow_compression(true);
    inflater_ =
        std::make_unique<ws::inflater>(opts.client_no_context_takeover, opts.max_decompressed_size);
    client_.set_deflate(true);
  }
  if (!opts.user_id_header.empty() || !opts.proxy_headers.empty())
    opts_ = std::make_unique<ws_connection_options>(std::move(opts));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

ws_connection::~ws_connection() {
  if (fd_ >= 0) ::close(fd_);
}

void ws_connection::on_poll(uint32_t events) {
  if (socket_closed_) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    if (read_state_ == reading::armed) {
      on_turn();
    } else if ((events & (EPOLLHUP | EPOLLERR)) && read_state_ != reading::scheduled) {
      // Not reading now (an engine or the queue holds us) and the socket is gone.
      client_.on_transport_error();
      hard_close();
    }
    // Otherwise the bytes wait in the socket: a promised turn reads them, or the peer
    // is held back by TCP flow control until we read again.
  }
  if (socket_closed_) return;
  if ((events & EPOLLOUT) && write_blocked_) {
    write_blocked_ = false;
    write_some();
  }
}

std::string_view ws_connection::request_header(std::string_view name) const {
  if (!opts_ || opts_->user_id_header.size() != name.size()) return {};
  for (size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(name[i])) !=
        std::tolower(static_cast<unsigned char>(opts_->user_id_header[i])))
      return {};
  return opts_->user_id_value;
}

std::vector<std::string_view> ws_connection::proxy_header(std::string_view name) const {
  std::vector<std::string_view> out;
  if (!opts_) return out;
  for (const auto& [k, v] : opts_->proxy_headers) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    if (same) out.push_back(v);
  }
  return out;
}

// ---------------------------------------------------------------------------- reading

void ws_connection::on_again() {
  if (!socket_closed_ && read_state_ == reading::scheduled) on_turn();
}

void ws_connection::on_turn() {
  read_state_ = reading::armed;
  // Commands left from earlier turns run before anything newer is read.
  client_.begin_turn();
  if (socket_closed_) return;
  if (!closing_ && !client_.accepting_input()) {
    shard_.flush_dirty();
    if (!socket_closed_) settle(true);
    return;
  }
  // One buffer per turn: at most gyre.read_budget_bytes, and always room for one whole
  // frame of the largest message (then a full buffer always holds a complete frame).
  const size_t cap = std::max<size_t>(shard_.opts().read_budget_bytes,
                                      parser_.max_message_size() + ws::max_client_header_size);
  const size_t have = partial_ ? partial_->size() : 0;
  const size_t want = std::max(cap, have);
  char* buf = loop_read_buffer.reserve(want + protocol::decode_padding);
  if (have) {
    std::memcpy(buf, partial_->data(), have);
    partial_.reset();
  }
  size_t len = have;
  bool eof = false;
  bool would_block = false;
  while (len < want) {
    ssize_t n = ::read(fd_, buf + len, want - len);
    if (n > 0) {
      len += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      eof = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      would_block = true;
    } else {
      eof = true;  // connection reset or similar
    }
    break;
  }
  shard_.counters().bytes_received.fetch_add(len - have, std::memory_order_relaxed);
  bool paused = false;
  bool alive = process_input(buf, len, paused);
  shard_.flush_dirty();
  if (!alive || socket_closed_) return;
  if (eof) {
    client_.on_transport_error();
    hard_close();
    return;
  }
  // The registration is edge-triggered: unless the socket said "would block", more may
  // be waiting without a new edge.
  settle(paused || !would_block);
}

void ws_connection::settle(bool input_left) {
  if (closing_ || client_.accepting_input()) {
    if (input_left) schedule_turn();
    return;
  }
  if (client_.waiting_for_engine()) {
    read_state_ = reading::engine;  // input_ready() resumes
    return;
  }
  if (client_.over_queue_limit()) return hold();
  schedule_turn();  // the turn's command budget is spent
}

void ws_connection::schedule_turn() {
  read_state_ = reading::scheduled;
  poller_.again(this);
}

void ws_connection::hold() {
  read_state_ = reading::held;
  shard_.hold(client_);
  static log::limiter site;
  log::limited(
      site, spdlog::level::info,
      "client {}: queue over client.queue_max_size {} ({} bytes): not reading from it until it "
      "drains (3008 after websocket.write_timeout)",
      client_.client_id(), shard_.opts().queue_max_size, client_.out().queued_bytes());
}

bool ws_connection::process_input(char* buf, size_t len, bool& paused) {
  if (len == 0) return true;
  const bool ignore = closing_;  // after our close frame, data is read and dropped
  bool failed = false;           // a compressed message could not be inflated
  auto r = parser_.parse(std::span<char>(buf, len), [&](const ws::frame_event& ev) -> bool {
    switch (ev.type) {
      case ws::event_type::message:
        if (ignore) break;
        if (ev.compressed) {
          // Inflated into a per-thread buffer: the client copies what it cannot run now.
          thread_local std::string inflated;
          inflated.clear();
          if (!inflate(ev.payload, true, inflated) ||
              (ev.op == ws::opcode::text && !is_valid_utf8(inflated))) {
            if (!closing_) fail_with(ws::close_code::invalid_payload);
            failed = true;
            return false;
          }
          inflated.reserve(inflated.size() + protocol::decode_padding);
          deliver(inflated);
          break;
        }
        deliver(ev.payload);
        break;
      case ws::event_type::fragment:
        if (ignore) break;
        if (!message_) message_ = std::make_unique<std::string>();
        if (!ev.compressed) {
          message_->append(ev.payload);
        } else if (!inflate(ev.payload, ev.fin, *message_)) {
          failed = true;
          return false;
        }
        if (ev.fin) {
          auto msg = std::move(message_);
          if (ev.compressed && ev.op == ws::opcode::text && !is_valid_utf8(*msg)) {
            fail_with(ws::close_code::invalid_payload);
            failed = true;
            return false;
          }
          msg->reserve(msg->size() + protocol::decode_padding);
          deliver(*msg);
        }
        break;
      case ws::event_type::ping: {
        if (ignore) break;  // nothing follows our close frame
        char frame[ws::max_control_frame_size];
        size_t n = ws::write_pong_frame(frame, ev.payload);
        // Answering only the latest ping is enough (RFC 6455): one pong at most waits.
        if (pending_pong_)
          client_.out().rewrite(pending_pong_, std::string_view(frame, n));
        else
          pending_pong_ = queue_control_frame(std::string_view(frame, n));
        break;
      }
      case ws::event_type::pong:
        break;
      case ws::event_type::close:
        if (close_sent_ || closing_) {
          // Our close was answered: the handshake is complete.
          hard_close();
          return false;
        }
        // The peer closes: answer with the same code, then drop the connection.
        client_.on_transport_error();
        {
          char frame[ws::max_close_frame_size];
          uint16_t code = ev.code == ws::close_code::no_status ? ws::close_code::normal : ev.code;
          size_t n = ws::write_close_frame(frame, code);
          closing_ = true;
          queue_control_frame(std::string_view(frame, n));
        }
        return false;
    }
    return client_.accepting_input() || closing_;
  });
  if (socket_closed_) return false;
  if (failed) return !socket_closed_;
  if (r.status == ws::parse_status::failed) {
    log::debug("websocket protocol error: {}", ws::describe(r.error));
    client_.on_transport_error();
    char frame[ws::max_close_frame_size];
    size_t n = ws::write_close_frame(frame, r.close_code());
    shard_.owner().metrics().count_outgoing_close(name(), r.close_code());
    closing_ = true;
    queue_control_frame(std::string_view(frame, n));
    flush();
    return !socket_closed_;
  }
  if (r.status == ws::parse_status::paused) paused = true;
  if (r.status == ws::parse_status::closed) {
    flush();
    return !socket_closed_;
  }
  if (r.consumed < len)
    partial_ = std::make_unique<std::string>(buf + r.consumed, len - r.consumed);
  return true;
}

void ws_connection::deliver(std::string_view message) {
  if (!uni_) return client_.on_frame(message);
  if (uni_connected_) return;  // a unidirectional client's later messages are dropped
  uni_connected_ = true;
  protocol::connect_request req;
  if (!protocol::decode_uni_connect(message, req)) {
    log::debug("uni_websocket: undecodable ConnectRequest");
    return client_.disconnect(disconnects::bad_request);
  }
  client_.connect_unidirectional(std::move(req));
}

bool ws_connection::inflate(std::string_view payload, bool fin, std::string& out) {
  switch (inflater_->feed(payload, fin, out)) {
    case ws::inflater::result::ok:
      return true;
    case ws::inflater::result::too_big:
      log::debug("websocket: a compressed message inflates past {} bytes", inflater_->max_size());
      fail_with(ws::close_code::message_too_big);
      return false;
    case ws::inflater::result::bad_data:
      log::debug("websocket: corrupt compressed message");
      fail_with(ws::close_code::invalid_payload);
      return false;
  }
  return false;
}

void ws_connection::fail_with(uint16_t code) {
  message_.reset();
  client_.on_transport_error();
  char frame[ws::max_close_frame_size];
  size_t n = ws::write_close_frame(frame, code);
  shard_.owner().metrics().count_outgoing_close(name(), code);
  closing_ = true;
  queue_control_frame(std::string_view(frame, n));
  flush();
}

void ws_connection::input_ready() {
  if (socket_closed_) return;
  if (read_state_ == reading::engine) {
    schedule_turn();
  } else if (read_state_ == reading::held && !client_.over_queue_limit()) {
    shard_.release(client_);
    schedule_turn();
  }
}

// ---------------------------------------------------------------------------- writing

out_chunk* ws_connection::queue_control_frame(std::string_view frame) {
  out_chunk* c = shard_.pool().acquire(shared_buffer::copy_of(frame), true);
  client_.out().push(c);
  if (!client_.dirty_) shard_.mark_dirty(client_);
  return c;
}

void ws_connection::flush() {
  write_some();
}

void ws_connection::write_some() {
  outbox& ob = client_.out();
  const int fd = fd_;
  const ws::opcode data_op =
      encoding_ == protocol::encoding::json ? ws::opcode::text : ws::opcode::binary;
  // One writev carries several frames: [header][chunks...][header][chunks...]...
  // Headers of frames not started yet live in a per-thread array; only the header of a
  // frame interrupted by a partial write is kept in the connection (header_).
  struct frame_plan {
    const char* header;
    uint32_t header_len;
    uint32_t payload;
  };
  // Compressed pushes (docs/compression.md) are one frame each: room for many per writev.
  constexpr int max_frames = 128;
  thread_local char headers[max_frames][ws::max_server_header_size];
  iovec iov[max_iov];
  frame_plan plan[max_frames];
  // Once all is written, a client that fell behind queues what it held back (conflation,
  // docs/design/conflation.md), and that is written too.
  while (!write_blocked_ && !socket_closed_ &&
         (in_frame_ || !ob.empty() || (client_.holding_back() && client_.release_held()))) {
    int cnt = 0, frames = 0;
    size_t k = 0;                      // next outbox chunk to describe
    size_t k_off = ob.front_offset();  // bytes of chunk k already written
    auto add_payload = [&](size_t len) {
      while (len > 0 && cnt < max_iov) {
        out_chunk* c = ob.at(k);
        size_t n = std::min(len, c->bytes.size() - k_off);
        iov[cnt++] = {const_cast<char*>(c->bytes.data()) + k_off, n};
        len -= n;
        k_off += n;
        if (k_off == c->bytes.size()) {
          ++k;
          k_off = 0;
        }
      }
    };
    if (in_frame_) {
      plan[frames++] = {header_ + header_sent_, static_cast<uint32_t>(header_len_ - header_sent_),
                        frame_left_};
      if (header_sent_ < header_len_)
        iov[cnt++] = {header_ + header_sent_, static_cast<size_t>(header_len_ - header_sent_)};
      add_payload(frame_left_);
    }
    bool pong_planned = false;
    while (frames < max_frames && k < ob.size() && cnt + 2 < max_iov) {
      out_chunk* first = ob.at(k);
      uint32_t header_len = 0;
      size_t total = 0;
      if (first->is_frame) {
        total = first->bytes.size() - k_off;  // a complete frame: no header of ours
        if (first == pending_pong_) pong_planned = true;
      } else {
        // Coalesce consecutive data chunks into one frame.
        size_t j = k;
        // uni_websocket: one Push per frame unless uni_websocket.join_push_messages.
        const size_t chunks_per_frame = uni_ && !uni_join_ ? 1 : max_frame_chunks;
        while (j < ob.size() && j - k < chunks_per_frame && total < max_frame_bytes) {
          out_chunk* c = ob.at(j);
          if (c->is_frame) break;
          total += c->bytes.size() - (j == k ? k_off : 0);
          ++j;
        }
        header_len = static_cast<uint32_t>(ws::write_frame_header(headers[frames], data_op, total));
        iov[cnt++] = {headers[frames], header_len};
      }
      plan[frames] = {headers[frames], header_len, static_cast<uint32_t>(total)};
      ++frames;
      add_payload(total);
    }
    ssize_t n = ::writev(fd, iov, cnt);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        write_blocked_ = true;  // the next EPOLLOUT edge resumes
        return;
      }
      client_.on_transport_error();
      hard_close();
      return;
    }
    size_t written = static_cast<size_t>(n);
    // A pong whose writing may have started is no longer rewritten by later pings.
    if (pong_planned) pending_pong_ = nullptr;
    shard_.counters().bytes_sent.fetch_add(written, std::memory_order_relaxed);
    // Account frame by frame; an interrupted frame becomes the frame in progress.
    in_frame_ = false;
    for (int f = 0; f < frames; ++f) {
      size_t h = std::min<size_t>(written, plan[f].header_len);
      written -= h;
      size_t p = std::min<size_t>(written, plan[f].payload);
      written -= p;
      if (p > 0) ob.consume(p, shard_.pool());
      if (h < plan[f].header_len || p < plan[f].payload) {
        // Keep what is left of this frame's header (it may live in the per-thread array).
        uint32_t rest = plan[f].header_len - static_cast<uint32_t>(h);
        std::memmove(header_, plan[f].header + h, rest);
        header_len_ = static_cast<uint8_t>(rest);
        header_sent_ = 0;
        frame_left_ = plan[f].payload - static_cast<uint32_t>(p);
        in_frame_ = true;
        break;
      }
    }
  }
  if (closing_ && !close_sent_ && !in_frame_ && ob.empty()) {
    // Everything, the close frame last, is written: no more data from us.
    close_sent_ = true;
    ::shutdown(fd, SHUT_WR);
  }
  if (read_state_ == reading::held && !socket_closed_ && !client_.over_queue_limit()) {
    // Drained under the limit in time: reading resumes.
    shard_.release(client_);
    schedule_turn();
  }
}

// ---------------------------------------------------------------------------- closing

void ws_connection::close(disconnect d) {
  if (socket_closed_) return;
  if (d.code == disconnects::connection_closed.code || closing_) {
    hard_close();
    return;
  }
  if (uni_ && uni_disconnect_push_) {
    // uni_websocket: a Disconnect push before the close frame.
    std::string push;
    protocol::codec_for(encoding_).encode_disconnect_push(d.code, d.reason,
                                                          protocol::push_envelope::bare, push);
    out_chunk* c = shard_.pool().acquire(shared_buffer::copy_of(push));
    client_.out().push(c);
  }
  closing_ = true;
  char frame[ws::max_close_frame_size];
  size_t n = ws::write_close_frame(frame, static_cast<uint16_t>(d.code), d.reason);
  shard_.owner().metrics().count_outgoing_close(name(), d.code);
  queue_control_frame(std::string_view(frame, n));
  flush();
  // Keep reading to see the peer's close frame (the client's timer bounds the wait).
  if (socket_closed_) return;
  if (read_state_ == reading::held) shard_.release(client_);
  if (read_state_ == reading::held || read_state_ == reading::engine) schedule_turn();
}

void ws_connection::discard_queued() {
  // The frame in progress must be completed, or the close frame would land inside it.
  client_.out().truncate(in_frame_ ? frame_left_ : 0, shard_.pool());
  pending_pong_ = nullptr;  // released, or it was being written
}

void ws_connection::hard_close() {
  if (socket_closed_) return;
  socket_closed_ = true;
  if (read_state_ == reading::held) shard_.release(client_);
  pending_pong_ = nullptr;
  poller_.remove(fd_);
  ::close(fd_);
  fd_ = -1;
  partial_.reset();
  message_.reset();
  inflater_.reset();
  client_done_ = client_.on_transport_closed();
  try_destroy();
}

void ws_connection::destroy() {
  client_done_ = true;
  try_destroy();
}

void ws_connection::try_destroy() {
  if (socket_closed_ && client_done_) poller_.retire(this);
}

}  // namespace gyre
