// resp: the Redis serialization protocol, both directions, without I/O.
// - encode_command() writes one command as a RESP array of bulk strings (the only form a
//   client sends).
// - reply_reader turns received bytes into `reply` trees; it wraps hiredis' RESP reader so
//   the parser is a proven one, and keeps hiredis out of every other header.
// RESP2 only: hiredis 0.14 has no RESP3 reader, so `force_resp2` is always in effect.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gyre::redis {

struct reply {
  // `failure`: no reply from Redis at all (connection lost, timeout, queue full, stopped);
  // `str` says why. `error`: Redis answered with an error reply.
  enum class kind : uint8_t { nil, integer, string, status, error, array, failure };
  kind type = kind::nil;
  int64_t integer = 0;
  std::string str;
  std::vector<reply> elements;

  bool is_error() const { return type == kind::error || type == kind::failure; }
  bool is_nil() const { return type == kind::nil; }
  // Integer value of an integer reply or of a bulk/status string holding a decimal number.
  std::optional<int64_t> as_int() const;
  // The text of a bulk or status string (empty for anything else).
  std::string_view text() const {
    return type == kind::string || type == kind::status ? std::string_view(str)
                                                        : std::string_view();
  }

  static reply make_failure(std::string why) {
    reply r;
    r.type = kind::failure;
    r.str = std::move(why);
    return r;
  }
};

// Appends one command (`*N\r\n$len\r\narg\r\n...`) to `out`.
void encode_command(std::string& out, const std::vector<std::string>& args);
std::string encode_command(const std::vector<std::string>& args);
// For commands built from views (avoids copying big payloads into a vector first).
void encode_command(std::string& out, std::initializer_list<std::string_view> args);

class reply_reader {
 public:
  reply_reader();
  ~reply_reader();
  reply_reader(const reply_reader&) = delete;
  reply_reader& operator=(const reply_reader&) = delete;

  void feed(const char* data, size_t n);
  // The next complete reply; nullopt when more bytes are needed. Sets `error` (and returns
  // nullopt) on a protocol error, after which the reader must be reset().
  std::optional<reply> next(std::string& error);
  void reset();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre::redis
