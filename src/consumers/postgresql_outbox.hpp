// postgresql_outbox: the pure parts of the `postgresql` consumer (docs/consumers.md): the
// outbox table's name check, the SQL it runs, the advisory lock key of a partition, and
// the decoding of a row's binary-format columns and of a NOTIFY payload.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gyre::consumers::pg_outbox {

// An unquoted table name, optionally schema-qualified: `outbox`, `app.outbox` (letters,
// digits, `_`, `$`, not starting with a digit). The name is put into SQL as written.
bool valid_table_name(std::string_view name);

// The rows of a partition, oldest first: $1 partition (int4), $2 limit (int8).
std::string select_sql(std::string_view table);
// Deletes the processed rows: $1 the ids as a bigint[] literal (id_array).
std::string delete_sql(std::string_view table);
// `{1,2,3}`.
std::string id_array(const std::vector<int64_t>& ids);

// The text whose hashtext() is the partition's advisory lock key (Centrifugo's, so that
// Gyre and Centrifugo nodes consuming one table exclude each other):
// `centrifugo_partition_lock_<consumer name><partition>`.
std::string lock_key(std::string_view consumer_name, int64_t partition);

// PostgreSQL type OIDs of the columns Gyre reads.
inline constexpr unsigned oid_bytea = 17;
inline constexpr unsigned oid_int8 = 20;
inline constexpr unsigned oid_int4 = 23;
inline constexpr unsigned oid_text = 25;
inline constexpr unsigned oid_json = 114;
inline constexpr unsigned oid_varchar = 1043;
inline constexpr unsigned oid_jsonb = 3802;

// An integer column in binary format (int8 or int4); nullopt for another type or size.
std::optional<int64_t> read_id(unsigned oid, std::string_view bytes);
// The JSON text of a `payload` (or the text of a `method`) column in binary format: jsonb
// (its version byte dropped), json, bytea, text, varchar; nullopt for another type.
std::optional<std::string_view> read_text(unsigned oid, std::string_view bytes);

}  // namespace gyre::consumers::pg_outbox
