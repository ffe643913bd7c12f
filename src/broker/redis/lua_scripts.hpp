// lua_scripts: the server-side scripts of the Redis engine (engines.md §4.4), written for
// Gyre from the behaviour the spec describes. Each runs atomically on one shard; keys are
// passed in KEYS so that Redis Cluster can route them (all keys of one call share the
// channel's hash tag).
//
// Scripts are loaded with SCRIPT LOAD on every connection and called with EVALSHA; the
// caller falls back to EVAL on NOSCRIPT. The SHA1 is computed here so it is known before
// any connection exists.
#pragma once

#include <string>

namespace gyre::redis {

struct lua_script {
  std::string name;
  std::string text;
  std::string sha;  // lower-case hex SHA1 of text
};

// KEYS: stream, meta, result. ARGV: payload, size, ttl, pubsub channel or "", meta ttl,
// candidate epoch, publish command, result ttl or "", use_delta "1"/"0", version,
// version epoch. Returns {offset, epoch, from_cache "1"/"0", skipped "1"/"0"}.
const lua_script& add_history_stream_script();
// Several add_history_stream calls in one: KEYS: 3 per publication (as above); ARGV: the
// count n, then the 11 arguments of each publication. Returns an array of n results, in
// order: each the result above, or an error reply when that publication failed (it is run
// under pcall: one failing publication does not stop the others). The keys of one call
// need not share a hash slot, so the broker uses it outside a Redis Cluster only.
const lua_script& add_history_stream_batch_script();
// KEYS: list, meta, result. ARGV: payload, size, ttl, channel, meta ttl, candidate epoch,
// publish command, result ttl, use_delta. Same return. History kept as framed __p1 values.
const lua_script& add_history_list_script();
// KEYS: result. ARGV: channel, payload, result ttl, publish command. Returns 1 when the
// result existed (nothing published), else 0.
const lua_script& publish_idempotent_script();
// KEYS: stream, meta. ARGV: include "1"/"0", from, limit (0 = all), reverse "1"/"0",
// meta ttl, candidate epoch. Returns {top, epoch, entries}.
const lua_script& read_stream_script();
// KEYS: list, meta. ARGV: include, limit (0 = all), meta ttl, candidate epoch. Returns
// {top, epoch, values newest first}.
const lua_script& read_list_script();
// KEYS: expire zset, data hash, user zset, user hash. ARGV: ttl, expire at, client id,
// info bytes, user id, user mapping "1"/"0", hash field ttl "1"/"0".
const lua_script& presence_add_script();
// KEYS: as add. ARGV: client id, user id, user mapping "1"/"0".
const lua_script& presence_remove_script();
// KEYS: expire zset, data hash. ARGV: now (unix s). Returns HGETALL of the data hash.
const lua_script& presence_get_script();
// KEYS: expire zset, data hash, user zset, user hash. ARGV: now. Returns {clients, users}.
const lua_script& presence_stats_script();

}  // namespace gyre::redis
