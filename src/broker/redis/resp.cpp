// resp: see resp.hpp.
#include "broker/redis/resp.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

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

reply convert(const redisReply* r) {
  reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = reply::kind::nil;
  }
  return out;
}

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
    r = redisReaderCreate();
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
  auto* rep = static_cast<redisReply*>(raw);
  reply out = convert(rep);
  freeReplyObject(rep);
  return out;
}

void reply_reader::reset() {
  redisReaderFree(impl_->r);
  impl_->create();
}

}  // namespace gyre::redis
