// postgresql_outbox: SQL text, lock keys and column decoding; see the header.
#include "consumers/postgresql_outbox.hpp"

namespace gyre::consumers::pg_outbox {

namespace {

bool valid_identifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (s[0] >= '0' && s[0] <= '9') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '$';
    if (!ok) return false;
  }
  return s[0] != '$';
}

}  // namespace

bool valid_table_name(std::string_view name) {
  auto dot = name.find('.');
  if (dot == std::string_view::npos) return valid_identifier(name);
  return valid_identifier(name.substr(0, dot)) && valid_identifier(name.substr(dot + 1));
}

std::string select_sql(std::string_view table) {
  return "SELECT id, method, payload FROM " + std::string(table) +
         " WHERE partition = $1 ORDER BY id ASC LIMIT $2";
}

std::string delete_sql(std::string_view table) {
  return "DELETE FROM " + std::string(table) + " WHERE id = ANY($1::bigint[])";
}

std::string id_array(const std::vector<int64_t>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  out += '}';
  return out;
}

std::string lock_key(std::string_view consumer_name, int64_t partition) {
  return "centrifugo_partition_lock_" + std::string(consumer_name) + std::to_string(partition);
}

std::optional<int64_t> read_id(unsigned oid, std::string_view bytes) {
  size_t n = oid == oid_int8 ? 8 : oid == oid_int4 ? 4 : 0;
  if (n == 0 || bytes.size() != n) return std::nullopt;
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<unsigned char>(c);
  if (n == 4) return static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v)));
  return static_cast<int64_t>(v);
}

std::optional<std::string_view> read_text(unsigned oid, std::string_view bytes) {
  switch (oid) {
    case oid_jsonb:
      // Binary jsonb: a version byte (1), then the JSON text.
      if (bytes.empty() || bytes[0] != 1) return std::nullopt;
      return bytes.substr(1);
    case oid_json:
    case oid_bytea:
    case oid_text:
    case oid_varchar:
      return bytes;
    default:
      return std::nullopt;
  }
}

}  // namespace gyre::consumers::pg_outbox
