// pb_wire: see pb_wire.hpp.
#include "broker/redis/pb_wire.hpp"

#include <cstdint>

namespace gyre::redis::pb {

namespace {

enum wire_type : uint32_t { wt_varint = 0, wt_fixed64 = 1, wt_length = 2, wt_fixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, uint32_t field, wire_type t) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | t);
}

void put_bytes(std::string& out, uint32_t field, std::string_view b) {
  if (b.empty()) return;  // proto3: empty = absent
  put_tag(out, field, wt_length);
  put_varint(out, b.size());
  out.append(b);
}

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  bool done() const { return pos_ >= in_.size(); }
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      const auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool bytes(std::string_view& b) {
    uint64_t n = 0;
    if (!varint(n) || n > in_.size() - pos_) return false;
    b = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool skip(uint32_t t) {
    uint64_t v = 0;
    std::string_view b;
    switch (t) {
      case wt_varint:
        return this->varint(v);
      case wt_fixed64:
        if (in_.size() - pos_ < 8) return false;
        pos_ += 8;
        return true;
      case wt_length:
        return bytes(b);
      case wt_fixed32:
        if (in_.size() - pos_ < 4) return false;
        pos_ += 4;
        return true;
      default:
        return false;
    }
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

bool decode_entry(std::string_view in, std::string& key, std::string& value) {
  reader r(in);
  while (!r.done()) {
    uint64_t tag = 0;
    if (!r.varint(tag)) return false;
    const auto field = static_cast<uint32_t>(tag >> 3);
    const auto type = static_cast<uint32_t>(tag & 7);
    std::string_view b;
    if ((field == 1 || field == 2) && type == wt_length) {
      if (!r.bytes(b)) return false;
      (field == 1 ? key : value).assign(b);
    } else if (!r.skip(type)) {
      return false;
    }
  }
  return true;
}

}  // namespace

void encode_client_info(std::string& out, const client_info& info) {
  put_bytes(out, 1, info.user);
  put_bytes(out, 2, info.client);
  put_bytes(out, 3, info.conn_info);
  put_bytes(out, 4, info.chan_info);
}

std::string encode_client_info(const client_info& info) {
  std::string out;
  out.reserve(info.user.size() + info.client.size() + info.conn_info.size() +
              info.chan_info.size() + 16);
  encode_client_info(out, info);
  return out;
}

bool decode_client_info(std::string_view in, client_info& out) {
  reader r(in);
  while (!r.done()) {
    uint64_t tag = 0;
    if (!r.varint(tag)) return false;
    const auto field = static_cast<uint32_t>(tag >> 3);
    const auto type = static_cast<uint32_t>(tag & 7);
    if (field >= 1 && field <= 4 && type == wt_length) {
      std::string_view b;
      if (!r.bytes(b)) return false;
      std::string* dst = field == 1   ? &out.user
                         : field == 2 ? &out.client
                         : field == 3 ? &out.conn_info
                                      : &out.chan_info;
      dst->assign(b);
    } else if (!r.skip(type)) {
      return false;
    }
  }
  return true;
}

std::string encode_publication(const publication& pub, bool delta) {
  std::string out;
  out.reserve(pub.data.size() + 32);
  put_bytes(out, 4, pub.data);
  if (pub.info) {
    const std::string info = encode_client_info(*pub.info);
    put_tag(out, 5, wt_length);
    put_varint(out, info.size());
    out.append(info);
  }
  if (pub.offset != 0) {
    put_tag(out, 6, wt_varint);
    put_varint(out, pub.offset);
  }
  for (const auto& [k, v] : pub.tags) {
    std::string entry;
    put_bytes(entry, 1, k);
    put_bytes(entry, 2, v);
    put_tag(out, 7, wt_length);
    put_varint(out, entry.size());
    out.append(entry);
  }
  if (delta) {
    put_tag(out, 8, wt_varint);
    put_varint(out, 1);
  }
  if (pub.time != 0) {
    put_tag(out, 9, wt_varint);
    put_varint(out, static_cast<uint64_t>(pub.time));
  }
  return out;
}

bool decode_publication(std::string_view in, publication& out) {
  reader r(in);
  while (!r.done()) {
    uint64_t tag = 0;
    if (!r.varint(tag)) return false;
    const auto field = static_cast<uint32_t>(tag >> 3);
    const auto type = static_cast<uint32_t>(tag & 7);
    std::string_view b;
    uint64_t v = 0;
    if (field == 4 && type == wt_length) {
      if (!r.bytes(b)) return false;
      out.data.assign(b);
    } else if (field == 5 && type == wt_length) {
      if (!r.bytes(b)) return false;
      client_info info;
      if (!decode_client_info(b, info)) return false;
      out.info = std::move(info);
    } else if (field == 6 && type == wt_varint) {
      if (!r.varint(v)) return false;
      out.offset = v;
    } else if (field == 7 && type == wt_length) {
      if (!r.bytes(b)) return false;
      std::string key, value;
      if (!decode_entry(b, key, value)) return false;
      out.tags.emplace_back(std::move(key), std::move(value));
    } else if (field == 8 && type == wt_varint) {
      if (!r.varint(v)) return false;
      out.delta = v != 0;
    } else if (field == 9 && type == wt_varint) {
      if (!r.varint(v)) return false;
      out.time = static_cast<int64_t>(v);
    } else if (!r.skip(type)) {
      return false;
    }
  }
  return true;
}

bool decode_publication_data(std::string_view in, std::string& data) {
  reader r(in);
  while (!r.done()) {
    uint64_t tag = 0;
    if (!r.varint(tag)) return false;
    const auto field = static_cast<uint32_t>(tag >> 3);
    const auto type = static_cast<uint32_t>(tag & 7);
    if (field == 4 && type == wt_length) {
      std::string_view b;
      if (!r.bytes(b)) return false;
      data.assign(b);
    } else if (!r.skip(type)) {
      return false;
    }
  }
  return true;
}

}  // namespace gyre::redis::pb
