// lua_scripts: see lua_scripts.hpp. Lua 5.1 as embedded in Redis; numbers are doubles, so
// offsets stay exact up to 2^53.
#include "broker/redis/lua_scripts.hpp"

#include <openssl/sha.h>

namespace gyre::redis {

namespace {

lua_script make(std::string name, std::string text) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  static const char* hex = "0123456789abcdef";
  std::string sha;
  for (unsigned char c : md) {
    sha.push_back(hex[c >> 4]);
    sha.push_back(hex[c & 15]);
  }
  return lua_script{std::move(name), std::move(text), std::move(sha)};
}

}  // namespace

const lua_script& add_history_stream_script() {
  static const lua_script s = make("add_history_stream", R"LUA(
local stream_key, meta_key, result_key = KEYS[1], KEYS[2], KEYS[3]
local payload, size, ttl, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local meta_ttl, new_epoch, publish_cmd, result_ttl = tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
local use_delta, version, version_epoch = ARGV[9], tonumber(ARGV[10]), ARGV[11]

if result_ttl ~= '' then
  local cached = redis.call('hmget', result_key, 'e', 's')
  if cached[1] then
    return {cached[2] or '0', cached[1], '1', '0'}
  end
end

local epoch = redis.call('hget', meta_key, 'e')
if not epoch then
  epoch = new_epoch
  redis.call('hset', meta_key, 'e', epoch)
end

if version > 0 then
  local stored = redis.call('hmget', meta_key, 'v', 've', 's')
  local stored_version = tonumber(stored[1])
  if stored_version and (version_epoch == '' or version_epoch == (stored[2] or '')) and
      stored_version >= version then
    return {stored[3] or '0', epoch, '0', '1'}
  end
  redis.call('hset', meta_key, 'v', ARGV[10], 've', version_epoch)
end

local offset = redis.call('hincrby', meta_key, 's', 1)
if meta_ttl > 0 then
  redis.call('expire', meta_key, meta_ttl)
end

local prev = ''
if use_delta == '1' and offset > 1 then
  local last = redis.call('xrevrange', stream_key, '+', '-', 'COUNT', 1)
  if last[1] then
    local fields = last[1][2]
    for i = 1, #fields, 2 do
      if fields[i] == 'd' then prev = fields[i + 1] end
    end
  end
end

if offset == 1 then
  -- Metadata was lost: whatever the stream still holds belongs to an older epoch.
  redis.call('del', stream_key)
end
redis.call('xadd', stream_key, 'MAXLEN', size, offset .. '-0', 'd', payload)
redis.call('expire', stream_key, ttl)

if channel ~= '' then
  local message
  if use_delta == '1' then
    message = '__d1:' .. offset .. ':' .. epoch .. ':' .. #prev .. ':' .. prev .. ':' ..
        #payload .. ':' .. payload
  else
    message = '__p1:' .. offset .. ':' .. epoch .. '__' .. payload
  end
  redis.call(publish_cmd, channel, message)
end

if result_ttl ~= '' then
  redis.call('hset', result_key, 'e', epoch, 's', offset)
  redis.call('expire', result_key, result_ttl)
end
return {offset, epoch, '0', '0'}
)LUA");
  return s;
}

namespace {

// The single script's text with its EXPIREs deferred: expire_later() notes the key's TTL
// (the last one set wins, as when they run in turn) and the batch sets each key's once, at
// its end. The script is atomic, so what Redis holds after it is the same; a batch of
// publications to one channel saves two EXPIREs per publication but one.
std::string deferred_expires(std::string text) {
  const std::string call = "redis.call('expire', ";
  for (size_t at = text.find(call); at != std::string::npos; at = text.find(call, at))
    text.replace(at, call.size(), "expire_later(");
  return text;
}

}  // namespace

const lua_script& add_history_stream_batch_script() {
  // The single script's text becomes a function of (KEYS, ARGV) for the general entries,
  // each run under pcall; runs (stream_batch in lua_scripts.hpp) have their own code, which
  // leaves Redis as the single script run for each of its publications in turn would:
  // - the meta hash is read (HGET e) and its offset raised (HINCRBY s by the run's length)
  //   once; the offsets of the run are the consecutive ones that one-by-one would get;
  // - every XADD but the run's last has no MAXLEN, the last trims to `size` (exact, as
  //   before): the stream then holds the same last `size` entries. Trimming is what a
  //   publication cost most in Redis: an exact trim walks the deleted entries at the head of
  //   the stream's first node (up to stream-node-max-entries) on every call;
  // - a publication whose XADD fails gets its error and is not published (as the single
  //   script, which stops there); if it was the last, the stream is trimmed explicitly;
  // - the offset is turned into text once per publication (for the entry's id, the message
  //   and the result), and a run's result is {offset, epoch}: a plain publication is never
  //   suppressed.
  static const lua_script s = make("add_history_stream_batch", R"LUA(
local ttl_of, ttl_keys = {}, {}
local function expire_later(key, ttl)
  if ttl_of[key] == nil then ttl_keys[#ttl_keys + 1] = key end
  ttl_of[key] = ttl
end
local function publish_one(KEYS, ARGV)
)LUA" + deferred_expires(add_history_stream_script().text) + "end\n" +
                                                                   R"LUA(
local out = {}
local function failed(res)
  if type(res) == 'table' and res.err then return res end
  return {err = tostring(res)}
end
local function publish_run(stream_key, meta_key, k, size, ttl, channel, meta_ttl, new_epoch, at)
  local epoch = redis.call('hget', meta_key, 'e')
  if not epoch then
    epoch = new_epoch
    redis.call('hset', meta_key, 'e', epoch)
  end
  local first = redis.call('hincrby', meta_key, 's', k) - k + 1
  if meta_ttl > 0 then expire_later(meta_key, meta_ttl) end
  local stored, last_stored = false, false
  for i = 0, k - 1 do
    local offset = first + i
    local id = tostring(offset)
    local payload = ARGV[at + i]
    if offset == 1 then redis.call('del', stream_key) end
    local res
    if i == k - 1 then
      res = redis.pcall('xadd', stream_key, 'MAXLEN', size, id .. '-0', 'd', payload)
    else
      res = redis.pcall('xadd', stream_key, id .. '-0', 'd', payload)
    end
    if type(res) == 'table' and res.err then
      out[#out + 1] = res
    else
      stored, last_stored = true, i == k - 1
      if channel ~= '' then
        res = redis.pcall('publish', channel, '__p1:' .. id .. ':' .. epoch .. '__' .. payload)
      end
      if type(res) == 'table' and res.err then
        out[#out + 1] = res
      else
        out[#out + 1] = {id, epoch}
      end
    end
  end
  if stored then
    if not last_stored then redis.call('xtrim', stream_key, 'MAXLEN', size) end
    expire_later(stream_key, ttl)
  end
end

local n = tonumber(ARGV[1])
local k_at, a_at = 1, 2
for _ = 1, n do
  if ARGV[a_at] == 'r' then
    local k = tonumber(ARGV[a_at + 1])
    local done = #out
    local ok, res = pcall(publish_run, KEYS[k_at], KEYS[k_at + 1], k, ARGV[a_at + 2],
                          ARGV[a_at + 3], ARGV[a_at + 4], tonumber(ARGV[a_at + 5]),
                          ARGV[a_at + 6], a_at + 7)
    if not ok then
      res = failed(res)
      for i = #out + 1, done + k do out[i] = res end
    end
    k_at, a_at = k_at + 2, a_at + 7 + k
  else
    local keys = {KEYS[k_at], KEYS[k_at + 1], KEYS[k_at + 2]}
    local argv = {}
    for j = 1, 11 do argv[j] = ARGV[a_at + j] end
    local ok, res = pcall(publish_one, keys, argv)
    out[#out + 1] = ok and res or failed(res)
    k_at, a_at = k_at + 3, a_at + 12
  end
end
for _, key in ipairs(ttl_keys) do redis.call('expire', key, ttl_of[key]) end
return out
)LUA");
  return s;
}

void stream_batch::reserve(size_t publications) {
  keys_.reserve(3 * publications);
  argv_.reserve(1 + 12 * publications);
}

void stream_batch::add(std::vector<std::string>&& keys, std::vector<std::string>&& argv) {
  ++publications_;
  const bool plain = keys.size() == 3 && argv.size() == 11 && argv[6] == "publish" &&
                     argv[7].empty() && argv[8] == "0" && argv[9] == "0";
  if (plain && run_at_ != 0 && keys_[keys_.size() - 2] == keys[0] && keys_.back() == keys[1] &&
      argv_[run_at_ + 1] == argv[1] && argv_[run_at_ + 2] == argv[2] &&
      argv_[run_at_ + 3] == argv[3] && argv_[run_at_ + 4] == argv[4]) {
    ++run_length_;
    argv_.push_back(std::move(argv[0]));
    return;
  }
  close_run();
  ++entries_;
  if (plain) {
    keys_.push_back(std::move(keys[0]));
    keys_.push_back(std::move(keys[1]));
    argv_.push_back("r");
    run_at_ = argv_.size();
    run_length_ = 1;
    argv_.push_back(std::string());  // the length, when the run is closed
    for (size_t i = 1; i <= 5; ++i) argv_.push_back(std::move(argv[i]));
    argv_.push_back(std::move(argv[0]));
    return;
  }
  for (auto& k : keys) keys_.push_back(std::move(k));
  argv_.push_back("p");
  for (auto& a : argv) argv_.push_back(std::move(a));
}

void stream_batch::close_run() {
  if (run_at_ != 0) argv_[run_at_] = std::to_string(run_length_);
  run_at_ = 0;
  run_length_ = 0;
}

void stream_batch::take(std::vector<std::string>& keys, std::vector<std::string>& argv) {
  close_run();
  argv_[0] = std::to_string(entries_);
  keys = std::move(keys_);
  argv = std::move(argv_);
  keys_.clear();
  argv_.assign(1, std::string());
  entries_ = publications_ = 0;
}

const lua_script& add_history_list_script() {
  static const lua_script s = make("add_history_list", R"LUA(
local list_key, meta_key, result_key = KEYS[1], KEYS[2], KEYS[3]
local payload, size, ttl, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local meta_ttl, new_epoch, publish_cmd, result_ttl = tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
local use_delta = ARGV[9]

if result_ttl ~= '' then
  local cached = redis.call('hmget', result_key, 'e', 's')
  if cached[1] then
    return {cached[2] or '0', cached[1], '1', '0'}
  end
end

local epoch = redis.call('hget', meta_key, 'e')
if not epoch then
  epoch = new_epoch
  redis.call('hset', meta_key, 'e', epoch)
end
local offset = redis.call('hincrby', meta_key, 's', 1)
if meta_ttl > 0 then
  redis.call('expire', meta_key, meta_ttl)
end

local prev = ''
if use_delta == '1' and offset > 1 then
  prev = redis.call('lindex', list_key, 0) or ''
  if prev == false then prev = '' end
end
if offset == 1 then
  redis.call('del', list_key)
end
local framed = '__p1:' .. offset .. ':' .. epoch .. '__' .. payload
redis.call('lpush', list_key, framed)
redis.call('ltrim', list_key, 0, size - 1)
redis.call('expire', list_key, ttl)

if channel ~= '' then
  local message = framed
  if use_delta == '1' then
    message = '__d1:' .. offset .. ':' .. epoch .. ':' .. #prev .. ':' .. prev .. ':' ..
        #payload .. ':' .. payload
  end
  redis.call(publish_cmd, channel, message)
end

if result_ttl ~= '' then
  redis.call('hset', result_key, 'e', epoch, 's', offset)
  redis.call('expire', result_key, result_ttl)
end
return {offset, epoch, '0', '0'}
)LUA");
  return s;
}

const lua_script& publish_idempotent_script() {
  static const lua_script s = make("publish_idempotent", R"LUA(
if redis.call('exists', KEYS[1]) == 1 then
  return 1
end
redis.call(ARGV[4], ARGV[1], ARGV[2])
redis.call('hset', KEYS[1], 'e', '')
redis.call('expire', KEYS[1], ARGV[3])
return 0
)LUA");
  return s;
}

const lua_script& read_stream_script() {
  static const lua_script s = make("read_stream", R"LUA(
local stream_key, meta_key = KEYS[1], KEYS[2]
local include, from, limit, reverse = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local meta_ttl, new_epoch = tonumber(ARGV[5]), ARGV[6]

local meta = redis.call('hmget', meta_key, 's', 'e')
local top, epoch = meta[1], meta[2]
if not epoch then
  epoch = new_epoch
  redis.call('hset', meta_key, 'e', epoch)
end
if not top then top = '0' end
if meta_ttl > 0 then
  redis.call('expire', meta_key, meta_ttl)
end

local entries = {}
if include == '1' then
  if reverse == '1' then
    if limit > 0 then
      entries = redis.call('xrevrange', stream_key, from, '-', 'COUNT', limit)
    else
      entries = redis.call('xrevrange', stream_key, from, '-')
    end
  else
    if limit > 0 then
      entries = redis.call('xrange', stream_key, from, '+', 'COUNT', limit)
    else
      entries = redis.call('xrange', stream_key, from, '+')
    end
  end
end
return {top, epoch, entries}
)LUA");
  return s;
}

const lua_script& read_list_script() {
  static const lua_script s = make("read_list", R"LUA(
local list_key, meta_key = KEYS[1], KEYS[2]
local include, limit, meta_ttl, new_epoch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]

local meta = redis.call('hmget', meta_key, 's', 'e')
local top, epoch = meta[1], meta[2]
if not epoch then
  epoch = new_epoch
  redis.call('hset', meta_key, 'e', epoch)
end
if not top then top = '0' end
if meta_ttl > 0 then
  redis.call('expire', meta_key, meta_ttl)
end
local values = {}
if include == '1' then
  values = redis.call('lrange', list_key, 0, limit - 1)
end
return {top, epoch, values}
)LUA");
  return s;
}

const lua_script& presence_add_script() {
  static const lua_script s = make("presence_add", R"LUA(
local expire_key, data_key, user_expire_key, user_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl, expire_at, client, info = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local user, user_mapping, field_ttl = ARGV[5], ARGV[6], ARGV[7]

local added = redis.call('hset', data_key, client, info)
redis.call('expire', data_key, ttl)
if field_ttl == '1' then
  redis.call('hexpire', data_key, ttl, 'FIELDS', 1, client)
else
  redis.call('zadd', expire_key, expire_at, client)
  redis.call('expire', expire_key, ttl)
end
if user_mapping == '1' then
  if added == 1 then
    redis.call('hincrby', user_key, user, 1)
  end
  redis.call('expire', user_key, ttl)
  if field_ttl == '1' then
    redis.call('hexpire', user_key, ttl, 'FIELDS', 1, user)
  else
    redis.call('zadd', user_expire_key, expire_at, user)
    redis.call('expire', user_expire_key, ttl)
  end
end
return 1
)LUA");
  return s;
}

const lua_script& presence_remove_script() {
  static const lua_script s = make("presence_remove", R"LUA(
local expire_key, data_key, user_expire_key, user_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local client, user, user_mapping = ARGV[1], ARGV[2], ARGV[3]
local removed = redis.call('hdel', data_key, client)
redis.call('zrem', expire_key, client)
if user_mapping == '1' and removed == 1 then
  local left = redis.call('hincrby', user_key, user, -1)
  if left <= 0 then
    redis.call('hdel', user_key, user)
    redis.call('zrem', user_expire_key, user)
  end
end
return removed
)LUA");
  return s;
}

const lua_script& presence_get_script() {
  static const lua_script s = make("presence_get", R"LUA(
local expire_key, data_key, now = KEYS[1], KEYS[2], ARGV[1]
local expired = redis.call('zrangebyscore', expire_key, '-inf', now)
if #expired > 0 then
  for i = 1, #expired, 1000 do
    redis.call('hdel', data_key, unpack(expired, i, math.min(i + 999, #expired)))
  end
  redis.call('zremrangebyscore', expire_key, '-inf', now)
end
return redis.call('hgetall', data_key)
)LUA");
  return s;
}

const lua_script& presence_stats_script() {
  static const lua_script s = make("presence_stats", R"LUA(
local expire_key, data_key, user_expire_key, user_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = ARGV[1]
local function cleanup(zset, hash)
  local expired = redis.call('zrangebyscore', zset, '-inf', now)
  if #expired > 0 then
    for i = 1, #expired, 1000 do
      redis.call('hdel', hash, unpack(expired, i, math.min(i + 999, #expired)))
    end
    redis.call('zremrangebyscore', zset, '-inf', now)
  end
end
cleanup(expire_key, data_key)
cleanup(user_expire_key, user_key)
return {redis.call('hlen', data_key), redis.call('hlen', user_key)}
)LUA");
  return s;
}

}  // namespace gyre::redis
