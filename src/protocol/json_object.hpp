// json_object: a small read-only view of one JSON object, for decoders of JSON messages other
// than client commands (server API requests, node-to-node control messages).
//
// Members are found case-insensitively (Centrifugo decodes with Go's encoding/json, which
// matches keys that way). Raw member values are kept byte-exact, because `data`, `info`
// and the other bytes fields are passed through verbatim. Typed getters report a type
// mismatch (Go would fail the whole decode: HTTP 400 / error 107) and treat `null` like an
// absent member.
//
// Threading: a value; parse() uses a parser local to the calling thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gyre::protocol {

enum class json_kind : uint8_t { null, boolean, number, string, array, object };

class json_object {
 public:
  // Parses `text`; std::nullopt when it is not a JSON object (or not JSON at all).
  static std::optional<json_object> parse(std::string_view text);

  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Raw JSON of a member (nullopt when absent).
  std::optional<std::string_view> raw(std::string_view key) const;

  // Each getter returns false on a type mismatch; on absent/null it leaves `out` alone.
  bool get(std::string_view key, std::string& out) const;
  bool get(std::string_view key, bool& out) const;
  bool get(std::string_view key, int64_t& out) const;
  bool get(std::string_view key, uint64_t& out) const;
  bool get(std::string_view key, int32_t& out) const;
  bool get(std::string_view key, uint32_t& out) const;
  bool get(std::string_view key, std::vector<std::string>& out) const;
  bool get(std::string_view key, std::vector<uint64_t>& out) const;
  bool get(std::string_view key, std::vector<std::pair<std::string, std::string>>& out) const;
  bool get(std::string_view key, std::optional<json_object>& out) const;
  // Raw JSON value (any type); "null" is kept as the 4 bytes `null`.
  bool get_raw(std::string_view key, std::string& out) const;

  // Members in document order.
  struct member {
    std::string key;  // lower-cased
    json_kind kind;
    std::string raw;  // exact bytes of the value
    std::string str;  // unescaped value when kind == string
  };
  const std::vector<member>& members() const { return members_; }

 private:
  const member* find(std::string_view key) const;
  std::vector<member> members_;
};

// Splits a JSON array into the raw text of its elements; nullopt when not an array.
std::optional<std::vector<std::string>> split_array(std::string_view text);

}  // namespace gyre::protocol
