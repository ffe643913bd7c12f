// stream_connection implementation; see stream_connection.hpp.
#include "transport/stream_connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <unordered_map>

#include "core/log.hpp"
#include "core/random.hpp"
#include "hub/shard.hpp"
#include "protocol/uni_connect.hpp"
#include "transport/http_types.hpp"

namespace gyre {

namespace {

// Limits of one write: enough for a burst of pushes, small enough that the unwritten rest
// of a partial write (pending_) stays modest.
constexpr size_t max_write_bytes = 256 * 1024;
constexpr int max_iov = 512;
// A chunk of more messages than this (SSE framing needs three pieces per message) is framed
// by copying instead.
constexpr size_t max_sse_lines_inline = 32;
// Commands received through /emulation and not run yet: beyond this, a request is refused
// (429) instead of growing the connection's memory.
constexpr size_t max_parked_bytes = 1 << 20;
// Input a peer sends after its request is read and dropped, this much per turn.
constexpr int max_reads_per_turn = 4;

constexpr std::string_view sse_prefix = "data: ";
constexpr std::string_view event_end = "\n\n";
constexpr std::string_view crlf = "\r\n";

// The loop's emulation sessions.
struct session_map {
  // Keys view the connections' own session_ bytes.
  std::unordered_map<std::string_view, stream_connection*> by_id;
};
thread_local session_map loop_sessions;

size_t count_lines(std::string_view b) {
  size_t n = static_cast<size_t>(std::count(b.begin(), b.end(), '\n'));
  return (!b.empty() && b.back() != '\n') ? n + 1 : n;
}

// Appends the SSE framing of `b` (messages each ending with '\n') to `out`.
void frame_sse(std::string_view b, std::string& out) {
  while (!b.empty()) {
    size_t nl = b.find('\n');
    std::string_view line = b.substr(0, nl);
    out.append(sse_prefix).append(line).append("\n\n");
    if (nl == std::string_view::npos) break;
    b.remove_prefix(nl + 1);
  }
}

}  // namespace

void stream_connection::start(shard& s, poller& p, int fd, stream_start st) {
  auto* c = new stream_connection(s, p, fd, st);
  if (!p.add(fd, c)) {
    log::warn("epoll registration failed");
    c->client_.on_transport_error();
    c->hard_close();
    return;
  }
  c->queue_raw(st.head);
  if (c->uni()) {
    protocol::connect_request req;
    // The endpoint checked the request before adopting the connection.
    if (protocol::decode_uni_connect(st.connect, req))
      c->client_.connect_unidirectional(std::move(req));
    else
      c->client_.disconnect(disconnects::bad_request);
  } else {
    st.connect.reserve(st.connect.size() + protocol::decode_padding);
    c->client_.begin_turn();
    c->client_.on_frame(st.connect);
  }
  if (c->socket_closed_) return;
  s.flush_dirty();
}

stream_connection::stream_connection(shard& s, poller& p, int fd, const stream_start& st)
    : shard_(s),
      poller_(p),
      kind_(st.kind),
      client_(s, *this, st.encoding),
      fd_(fd),
      chunked_(st.chunked) {
  if (!st.user_id_header.empty())
    user_header_ =
        std::make_unique<header_value>(header_value{st.user_id_header, st.user_id_value});
  if (!uni()) {
    std::string id = uuid_v4() + "." + std::to_string(st.loop_index);
    session_len_ = static_cast<uint8_t>(std::min(id.size(), sizeof session_));
    std::memcpy(session_, id.data(), session_len_);
    loop_sessions.by_id.emplace(session(), this);
  }
}

stream_connection::~stream_connection() {
  if (fd_ >= 0) ::close(fd_);
}

std::string_view stream_connection::name() const {
  switch (kind_) {
    case stream_kind::http_stream:
      return "http_stream";
    case stream_kind::sse:
      return "sse";
    case stream_kind::uni_http_stream:
      return "uni_http_stream";
    case stream_kind::uni_sse:
      return "uni_sse";
  }
  return "http_stream";
}

std::string_view stream_connection::request_header(std::string_view name) const {
  if (!user_header_ || !iequals_ascii(user_header_->name, name)) return {};
  return user_header_->value;
}

// ---------------------------------------------------------------------------- sessions

int64_t stream_connection::loop_of_session(std::string_view session) {
  size_t dot = session.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= session.size() || session.size() > 64) return -1;
  std::string_view digits = session.substr(dot + 1);
  int64_t idx = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), idx);
  if (ec != std::errc() || end != digits.data() + digits.size() || idx < 0) return -1;
  return idx;
}

stream_connection::delivery stream_connection::deliver(std::string_view session,
                                                       std::string_view commands) {
  auto it = loop_sessions.by_id.find(session);
  if (it == loop_sessions.by_id.end()) return delivery::unknown_session;
  stream_connection* c = it->second;
  if (c->client_.parked_bytes() + commands.size() > max_parked_bytes) return delivery::overloaded;
  std::string batch;
  batch.reserve(commands.size() + protocol::decode_padding);
  batch.assign(commands);
  // Commands that waited run first, then these, with a fresh turn's budget.
  c->client_.begin_turn();
  if (c->socket_closed_) return delivery::delivered;
  c->client_.on_frame(batch);
  if (!c->socket_closed_) c->resume();
  c->shard_.flush_dirty();
  return delivery::delivered;
}

// ---------------------------------------------------------------------------- input

void stream_connection::on_poll(uint32_t events) {
  if (socket_closed_) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_and_drop();
  if (socket_closed_) return;
  if ((events & EPOLLOUT) && write_blocked_) {
    write_blocked_ = false;
    write_some();
  }
}

void stream_connection::read_and_drop() {
  char buf[4096];
  for (int i = 0; i < max_reads_per_turn; ++i) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      shard_.counters().bytes_received.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // End of stream or a reset: the peer is gone.
    client_.on_transport_error();
    hard_close();
    return;
  }
  // More may wait without a new edge: another turn, after the other connections.
  turn_asked_ = true;
  poller_.again(this);
}

void stream_connection::on_again() {
  if (socket_closed_) return;
  turn_asked_ = false;
  read_and_drop();
  if (socket_closed_) return;
  client_.begin_turn();  // commands that waited for a turn
  if (socket_closed_) return;
  resume();
  shard_.flush_dirty();
}

// Emulation commands that could not all run: ask for a turn when they may run again.
void stream_connection::resume() {
  if (turn_asked_ || client_.parked_bytes() == 0 || client_.waiting_for_engine() ||
      client_.over_queue_limit())
    return;
  turn_asked_ = true;
  poller_.again(this);
}

void stream_connection::input_ready() {
  if (!socket_closed_) resume();
}

// ---------------------------------------------------------------------------- writing

void stream_connection::queue_raw(std::string_view bytes) {
  out_chunk* c = shard_.pool().acquire(shared_buffer::copy_of(bytes), true);
  client_.out().push(c);
  if (!client_.dirty_) shard_.mark_dirty(client_);
}

bool stream_connection::write_pending() {
  while (pending_) {
    ssize_t n = ::write(fd_, pending_->data(), pending_->size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        write_blocked_ = true;
        return false;
      }
      client_.on_transport_error();
      hard_close();
      return false;
    }
    shard_.counters().bytes_sent.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
    if (static_cast<size_t>(n) == pending_->size())
      pending_.reset();
    else
      pending_->erase(0, static_cast<size_t>(n));
  }
  return true;
}

void stream_connection::write_some() {
  outbox& ob = client_.out();
  thread_local std::string sse_copy;  // a chunk of many messages, framed by copying
  while (!write_blocked_ && !socket_closed_) {
    if (pending_ && !write_pending()) return;
    if (ob.empty()) {
      // Conflation: what the client held back goes out once all is written.
      if (!closing_ && client_.holding_back() && client_.release_held()) continue;
      break;
    }
    iovec iov[max_iov];
    int cnt = 0;
    size_t k = 0;            // chunks planned
    size_t chunk_bytes = 0;  // their bytes (what leaves the outbox)
    char size_line[24];
    size_t body = 0;  // framed body bytes planned
    const bool raw = ob.front()->is_frame;
    if (raw) {
      // Raw bytes: the response head, the last chunk.
      std::string_view b = ob.front()->view();
      iov[cnt++] = {const_cast<char*>(b.data()), b.size()};
      k = 1;
      chunk_bytes = b.size();
    } else {
      const int size_slot = chunked_ ? cnt++ : -1;
      while (k < ob.size() && !ob.at(k)->is_frame && body < max_write_bytes && cnt + 6 < max_iov) {
        std::string_view b = ob.at(k)->view();
        if (sse()) {
          size_t lines = count_lines(b);
          if (lines > max_sse_lines_inline) {
            if (k > 0) break;  // framed alone, by copying
            sse_copy.clear();
            frame_sse(b, sse_copy);
            iov[cnt++] = {sse_copy.data(), sse_copy.size()};
            body += sse_copy.size();
          } else {
            if (cnt + 3 * static_cast<int>(lines) + 2 >= max_iov) break;
            std::string_view rest = b;
            while (!rest.empty()) {
              // "data: " + "<json>\n" + "\n" (or "\n\n" for a last line without one).
              size_t nl = rest.find('\n');
              size_t len = nl == std::string_view::npos ? rest.size() : nl + 1;
              size_t end = nl == std::string_view::npos ? 2 : 1;
              iov[cnt++] = {const_cast<char*>(sse_prefix.data()), sse_prefix.size()};
              iov[cnt++] = {const_cast<char*>(rest.data()), len};
              iov[cnt++] = {const_cast<char*>(event_end.data()), end};
              body += sse_prefix.size() + len + end;
              rest.remove_prefix(len);
            }
          }
        } else {
          iov[cnt++] = {const_cast<char*>(b.data()), b.size()};
          body += b.size();
        }
        chunk_bytes += b.size();
        ++k;
      }
      if (chunked_) {
        char* p = size_line;
        auto r = std::to_chars(p, p + 16, body, 16);
        p = r.ptr;
        *p++ = '\r';
        *p++ = '\n';
        iov[size_slot] = {size_line, static_cast<size_t>(p - size_line)};
        iov[cnt++] = {const_cast<char*>(crlf.data()), crlf.size()};
      }
    }
    size_t planned = 0;
    for (int i = 0; i < cnt; ++i) planned += iov[i].iov_len;
    if (!raw && body == 0) {
      // Nothing but empty chunks: an empty HTTP chunk would end the body.
      ob.consume(chunk_bytes, shard_.pool());
      continue;
    }
    ssize_t n = ::writev(fd_, iov, cnt);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        write_blocked_ = true;  // the next EPOLLOUT edge resumes
        break;
      }
      client_.on_transport_error();
      hard_close();
      return;
    }
    shard_.counters().bytes_sent.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
    size_t written = static_cast<size_t>(n);
    if (written < planned) {
      // Keep the unwritten rest, framing included: the planned chunks leave the outbox.
      pending_ = std::make_unique<std::string>();
      pending_->reserve(planned - written);
      size_t skip = written;
      for (int i = 0; i < cnt; ++i) {
        size_t len = iov[i].iov_len;
        if (skip >= len) {
          skip -= len;
          continue;
        }
        pending_->append(static_cast<const char*>(iov[i].iov_base) + skip, len - skip);
        skip = 0;
      }
    }
    ob.consume(chunk_bytes, shard_.pool());
  }
  if (ended_ && !shut_down_ && !socket_closed_ && ob.empty() && !pending_) {
    // The response is complete: no more data from us; the peer closes.
    shut_down_ = true;
    ::shutdown(fd_, SHUT_WR);
  }
  if (!socket_closed_ && !write_blocked_) resume();
}

// ---------------------------------------------------------------------------- closing

void stream_connection::close(disconnect d) {
  if (socket_closed_) return;
  if (d.code == disconnects::connection_closed.code || closing_) {
    hard_close();
    return;
  }
  closing_ = true;
  // The Disconnect push, then the end of the body.
  std::string push;
  protocol::codec_for(client_.encoding())
      .encode_disconnect_push(d.code, d.reason, envelope(), push);
  out_chunk* c = shard_.pool().acquire(shared_buffer::copy_of(push));
  client_.out().push(c);
  if (chunked_) queue_raw("0\r\n\r\n");
  ended_ = true;
  write_some();
}

void stream_connection::discard_queued() {
  client_.out().truncate(0, shard_.pool());
}

void stream_connection::hard_close() {
  if (socket_closed_) return;
  socket_closed_ = true;
  if (session_len_ > 0) {
    auto it = loop_sessions.by_id.find(session());
    if (it != loop_sessions.by_id.end() && it->second == this) loop_sessions.by_id.erase(it);
  }
  poller_.remove(fd_);
  ::close(fd_);
  fd_ = -1;
  pending_.reset();
  client_done_ = client_.on_transport_closed();
  try_destroy();
}

void stream_connection::destroy() {
  client_done_ = true;
  try_destroy();
}

void stream_connection::try_destroy() {
  if (socket_closed_ && client_done_) poller_.retire(this);
}

}  // namespace gyre
