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
#include <vector>

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
// Several add_history_stream calls in one, built by stream_batch below. Returns an array
// with one element per publication, in order: the result above (the offset may be a bulk
// string; a publication of a run gets only {offset, epoch}), or an error reply when that
// publication failed (one failing publication does not stop the others). The keys of one call need
// not share a hash slot, so the broker uses it outside a Redis Cluster only.
const lua_script& add_history_stream_batch_script();

// The KEYS and ARGV of one add_history_stream_batch call, from publications given as
// add_history_stream's KEYS and ARGV, in order. ARGV[1] is the number of entries; each
// entry is either
// - a run: consecutive plain publications (no idempotency key, no version, no delta) to
//   one stream with the same size, TTLs and PUB/SUB channel. KEYS: stream, meta; ARGV:
//   "r", the run's length k, size, ttl, channel, meta ttl, candidate epoch, then the k
//   payloads. Its options travel once, each publication adds only its payload;
// - any other publication. KEYS: its 3; ARGV: "p" and its 11.
class stream_batch {
 public:
  stream_batch() : argv_(1) {}
  // Room for this many publications (at most: runs take less).
  void reserve(size_t publications);
  void add(std::vector<std::string>&& keys, std::vector<std::string>&& argv);
  size_t publications() const { return publications_; }
  // Moves the call's KEYS and ARGV out; the builder is empty again.
  void take(std::vector<std::string>& keys, std::vector<std::string>& argv);

 private:
  void close_run();

  std::vector<std::string> keys_, argv_;
  size_t entries_ = 0, publications_ = 0;
  size_t run_at_ = 0;  // ARGV index of the open run's length; 0: none open
  size_t run_length_ = 0;
};
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
