// permessage-deflate negotiation, inflate and deflate; see ws_deflate.hpp.
#include "transport/ws_deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace gyre::ws {

namespace {

constexpr std::string_view extension_name = "permessage-deflate";
// Every compressed message ends with this empty stored block, which the sender removes
// and the receiver puts back.
constexpr char sync_tail[4] = {0x00, 0x00, static_cast<char>(0xff), static_cast<char>(0xff)};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Splits `s` at `sep` outside double quotes; calls f(piece) for each piece.
template <typename F>
void split_unquoted(std::string_view s, char sep, F&& f) {
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == sep && !quoted) {
      f(s.substr(start, i - start));
      start = i + 1;
    }
  }
  f(s.substr(start));
}

// A window-bits value: a decimal 8..15 without leading zeros, maybe quoted. -1 if invalid.
int window_bits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2 || v[0] == '0') return -1;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n >= 8 && n <= 15 ? n : -1;
}

// One offer's parameters; false when the offer must be declined.
// `params`: what follows the extension name's ';' (absent: no parameters at all).
bool accept_offer(std::optional<std::string_view> params, deflate_agreement& a) {
  bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
  bool ok = true;
  if (params)
    split_unquoted(*params, ';', [&](std::string_view p) {
      p = trim(p);
      if (p.empty()) {
        ok = false;  // "permessage-deflate;;" or a trailing ';'
        return;
      }
      std::string_view name = p, value;
      bool has_value = false;
      if (size_t eq = p.find('='); eq != std::string_view::npos) {
        name = trim(p.substr(0, eq));
        value = trim(p.substr(eq + 1));
        has_value = true;
      }
      auto once = [&](bool& seen) {
        if (seen) ok = false;
        seen = true;
      };
      if (iequals(name, "server_no_context_takeover")) {
        once(seen_snct);
        if (has_value) ok = false;
      } else if (iequals(name, "client_no_context_takeover")) {
        once(seen_cnct);
        if (has_value) ok = false;
      } else if (iequals(name, "server_max_window_bits")) {
        once(seen_smwb);
        // The shared frames use a 32 KB window: a smaller one cannot be granted.
        if (!has_value || window_bits(value) != 15) ok = false;
      } else if (iequals(name, "client_max_window_bits")) {
        once(seen_cmwb);
        if (has_value && window_bits(value) < 0) ok = false;
      } else {
        ok = false;
      }
    });
  if (!ok) return false;
  a.enabled = true;
  a.client_no_context_takeover = seen_cnct;
  a.response = "permessage-deflate; server_no_context_takeover";
  if (seen_cnct) a.response += "; client_no_context_takeover";
  if (seen_smwb) a.response += "; server_max_window_bits=15";
  return true;
}

}  // namespace

deflate_agreement negotiate_deflate(std::string_view extensions) {
  deflate_agreement a;
  split_unquoted(extensions, ',', [&](std::string_view ext) {
    if (a.enabled) return;
    ext = trim(ext);
    size_t semi = ext.find(';');
    std::string_view name = trim(ext.substr(0, semi));
    if (!iequals(name, extension_name)) return;
    accept_offer(
        semi == std::string_view::npos ? std::nullopt : std::optional(ext.substr(semi + 1)), a);
  });
  if (!a.enabled) a = deflate_agreement{};
  return a;
}

// ---------------------------------------------------------------------------- deflate

bool deflate_frame(std::string_view payload, opcode op, int level, std::string& out) {
  // One raw-deflate stream per thread, reset for every message (no context takeover).
  struct compressor {
    z_stream z{};
    int level = 0;
    bool ready = false;
    ~compressor() {
      if (ready) deflateEnd(&z);
    }
    void prepare(int want) {
      if (ready && level == want) {
        deflateReset(&z);
        return;
      }
      if (ready) deflateEnd(&z);
      z = z_stream{};
      const int zlevel = want < -1 ? Z_BEST_SPEED : want;
      const int strategy = want < -1 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY;
      ready = deflateInit2(&z, zlevel, Z_DEFLATED, -15, 8, strategy) == Z_OK;
      level = want;
    }
  };
  thread_local compressor c;
  thread_local std::string body;
  level = std::clamp(level, min_compression_level, max_compression_level);
  c.prepare(level);
  // deflateBound covers the stored-block worst case; + 16 for the sync flush marker.
  body.resize(deflateBound(&c.z, payload.size()) + 16);
  c.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  c.z.avail_in = static_cast<uInt>(payload.size());
  c.z.next_out = reinterpret_cast<Bytef*>(body.data());
  c.z.avail_out = static_cast<uInt>(body.size());
  if (c.ready) deflate(&c.z, Z_SYNC_FLUSH);
  size_t n = body.size() - c.z.avail_out;
  // zlib could not be set up (out of memory): the caller sends the message uncompressed.
  if (!c.ready || c.z.avail_in != 0 || n < 4) return false;
  if (std::memcmp(body.data() + n - 4, sync_tail, 4) == 0) n -= 4;
  char header[max_server_header_size];
  size_t h = write_frame_header(header, op, n);
  header[0] = static_cast<char>(header[0] | 0x40);  // RSV1: compressed
  out.assign(header, h);
  out.append(body.data(), n);
  return true;
}

// ---------------------------------------------------------------------------- inflate

struct inflater::stream {
  z_stream z{};
};

inflater::~inflater() {
  release();
}

void inflater::release() {
  if (!stream_) return;
  inflateEnd(&stream_->z);
  delete stream_;
  stream_ = nullptr;
}

inflater::result inflater::feed(std::string_view payload, bool fin, std::string& out) {
  if (!stream_) {
    stream_ = new stream;
    if (inflateInit2(&stream_->z, -15) != Z_OK) {
      delete stream_;
      stream_ = nullptr;
      return result::bad_data;
    }
  }
  result r = run(payload.data(), payload.size(), out);
  if (r == result::ok && fin) r = run(sync_tail, sizeof sync_tail, out);
  if (r != result::ok) {
    release();
    return r;
  }
  if (fin && no_context_takeover_) release();
  return r;
}

inflater::result inflater::run(const char* data, size_t size, std::string& out) {
  z_stream& z = stream_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  z.avail_in = static_cast<uInt>(size);
  constexpr size_t step = 16384;
  for (;;) {
    const size_t old = out.size();
    if (old > max_size_) return result::too_big;
    // Room for at most one byte past the limit: that byte proves the message too big.
    const size_t room = std::min(step, max_size_ + 1 - old);
    out.resize(old + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    z.avail_out = static_cast<uInt>(room);
    int rc = inflate(&z, Z_SYNC_FLUSH);
    const bool filled = z.avail_out == 0;
    out.resize(old + room - z.avail_out);
    if (out.size() > max_size_) return result::too_big;
    if (rc == Z_STREAM_END) {
      // A final block (BFINAL): what follows starts a new stream.
      if (inflateReset(&z) != Z_OK) return result::bad_data;
    } else if (rc == Z_BUF_ERROR) {
      if (!filled) return result::ok;  // all input used, nothing more to write
    } else if (rc != Z_OK) {
      return result::bad_data;
    }
    if (z.avail_in == 0 && !filled && rc != Z_STREAM_END) return result::ok;
    if (z.avail_in == 0 && rc == Z_STREAM_END) return result::ok;
  }
}

}  // namespace gyre::ws
