// resp: see resp.hpp.
#include "broker/redis/resp.hpp"

#include <hiredis/read.h>

#include <algorithm>
#include <charconv>

namespace gyre::redis {

std::optional<int64_t> reply::as_int() const {
  if (type == kind::integer) return integer;
  if (type != kind::string && type != kind::status) return std::nullopt;
  int64_t v = 0;
  const char* b = str.data();
  const char* e = b + str.size();
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e) return std::nullopt;
  return v;
}

namespace {

void append_bulk(std::string& out, std::string_view a) {
  out.push_back('$');
  out.append(std::to_string(a.size()));
  out.append("\r\n");
  out.append(a);
  out.append("\r\n");
}

// hiredis builds the reply tree through these callbacks (instead of its own redisReply
// objects), straight into `reply` values. An array grows as its elements arrive: the count
// in its header is a claim of the sender, so it only sizes a small first reservation and
// memory stays proportional to the bytes received ("*2147483647\r\n" is 13 bytes).
// Children live in their parent's vector; hiredis holds pointers only along the path it is
// filling, whose vectors do not grow meanwhile. Only the root is ever freed by hiredis.
// No exception may cross hiredis' C frames: a failed allocation returns null, which
// hiredis reports as an out-of-memory protocol error.
constexpr size_t first_reservation = 64;

void* attach(const redisReadTask* task, reply&& r) noexcept {
  try {
    if (task->parent == nullptr) return new reply(std::move(r));
    auto* parent = static_cast<reply*>(task->parent->obj);
    parent->elements.push_back(std::move(r));
    return &parent->elements.back();
  } catch (...) {
    return nullptr;
  }
}

void* create_string(const redisReadTask* task, char* str, size_t len) noexcept {
  try {
    reply r;
    r.type = task->type == REDIS_REPLY_ERROR    ? reply::kind::error
             : task->type == REDIS_REPLY_STATUS ? reply::kind::status
                                                : reply::kind::string;
    r.str.assign(str, len);
    return attach(task, std::move(r));
  } catch (...) {
    return nullptr;
  }
}

void* create_array(const redisReadTask* task, int elements) noexcept {
  try {
    reply r;
    r.type = reply::kind::array;
    r.elements.reserve(std::min(static_cast<size_t>(std::max(elements, 0)), first_reservation));
    return attach(task, std::move(r));
  } catch (...) {
    return nullptr;
  }
}

void* create_integer(const redisReadTask* task, long long value) noexcept {
  reply r;
  r.type = reply::kind::integer;
  r.integer = value;
  return attach(task, std::move(r));
}

void* create_nil(const redisReadTask* task) noexcept {
  return attach(task, reply{});
}

void free_object(void* root) noexcept {
  delete static_cast<reply*>(root);
}

redisReplyObjectFunctions reply_functions = {create_string, create_array, create_integer,
                                             create_nil, free_object};

}  // namespace

void encode_command(std::string& out, const std::vector<std::string>& args) {
  size_t need = 16;
  for (const auto& a : args) need += a.size() + 16;
  out.reserve(out.size() + need);
  out.push_back('*');
  out.append(std::to_string(args.size()));
  out.append("\r\n");
  for (const auto& a : args) append_bulk(out, a);
}

std::string encode_command(const std::vector<std::string>& args) {
  std::string out;
  encode_command(out, args);
  return out;
}

void encode_command(std::string& out, std::initializer_list<std::string_view> args) {
  size_t need = 16;
  for (const auto& a : args) need += a.size() + 16;
  out.reserve(out.size() + need);
  out.push_back('*');
  out.append(std::to_string(args.size()));
  out.append("\r\n");
  for (const auto& a : args) append_bulk(out, a);
}

struct reply_reader::impl {
  redisReader* r = nullptr;
  impl() { create(); }
  ~impl() { redisReaderFree(r); }
  void create() {
    r = redisReaderCreateWithFunctions(&reply_functions);
    r->maxbuf = 0;  // never shrink the buffer: replies of one batch arrive together
  }
};

reply_reader::reply_reader() : impl_(std::make_unique<impl>()) {}
reply_reader::~reply_reader() = default;

void reply_reader::feed(const char* data, size_t n) {
  redisReaderFeed(impl_->r, data, n);
}

std::optional<reply> reply_reader::next(std::string& error) {
  void* raw = nullptr;
  if (redisReaderGetReply(impl_->r, &raw) != REDIS_OK) {
    error = impl_->r->errstr[0] != '\0' ? impl_->r->errstr : "protocol error";
    return std::nullopt;
  }
  if (raw == nullptr) return std::nullopt;
  std::unique_ptr<reply> root(static_cast<reply*>(raw));
  return std::move(*root);
}

void reply_reader::reset() {
  redisReaderFree(impl_->r);
  impl_->create();
}

}  // namespace gyre::redis
