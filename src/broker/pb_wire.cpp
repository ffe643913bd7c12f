// pb_wire: see pb_wire.hpp.
#include "broker/pb_wire.hpp"

#include <cstdint>
#include <vector>

namespace gyre::pb_wire {

namespace {

// libprotobuf's default recursion limit, shared by nested messages and the groups it skips.
constexpr int recursion_limit = 100;

void put_varint_field(std::string& out, uint32_t field, uint64_t v) {
  if (v == 0) return;  // proto3 default
  put_tag(out, field, varint);
  put_varint(out, v);
}

void put_bytes(std::string& out, uint32_t field, std::string_view b) {
  if (!b.empty()) put_length_delimited(out, field, b);  // proto3: empty = absent
}

size_t varint_size(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

size_t bytes_field_size(uint32_t field, size_t n) {
  return n == 0 ? 0 : varint_size(uint64_t{field} << 3) + varint_size(n) + n;
}

size_t client_info_size(const client_info& info) {
  return bytes_field_size(1, info.user.size()) + bytes_field_size(2, info.client.size()) +
         bytes_field_size(3, info.conn_info.size()) + bytes_field_size(4, info.chan_info.size());
}

bool decode_entry(std::string_view in, std::string& key, std::string& value, int depth) {
  field_reader r(in, depth);
  field_reader::field f;
  while (r.next(f)) {
    if (f.type != length) continue;
    if (f.number == 1) key.assign(f.bytes);
    if (f.number == 2) value.assign(f.bytes);
  }
  return !r.failed();
}

}  // namespace

// ---- pieces ----

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

void put_fixed(std::string& out, uint32_t field, uint64_t v, wire_type t) {
  put_tag(out, field, t);
  const int bytes = t == fixed32 ? 4 : 8;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_length_header(std::string& out, uint32_t field, size_t size) {
  put_tag(out, field, length);
  put_varint(out, size);
}

void put_length_delimited(std::string& out, uint32_t field, std::string_view bytes) {
  put_length_header(out, field, bytes.size());
  out.append(bytes);
}

bool field_reader::read_varint(uint64_t& v, size_t max_bytes) {
  v = 0;
  for (size_t i = 0; i < max_bytes; ++i) {
    if (pos_ >= in_.size()) return false;
    const auto b = static_cast<uint8_t>(in_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);  // bits past 64 are dropped
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// libprotobuf's limits: a tag is at most 5 bytes (its value taken modulo 2^32), a length at
// most 5 bytes and below 2^31, any other varint at most 10 bytes.
bool field_reader::read_tag(uint32_t& number, uint32_t& type) {
  uint64_t tag = 0;
  if (!read_varint(tag, 5)) return false;
  number = static_cast<uint32_t>(tag) >> 3;
  type = static_cast<uint32_t>(tag) & 7;
  return number != 0;
}

bool field_reader::read_length(std::string_view& bytes) {
  uint64_t n = 0;
  if (!read_varint(n, 5) || n > INT32_MAX || n > in_.size() - pos_) return false;
  bytes = in_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool field_reader::read_value(uint32_t type, field& f) {
  switch (type) {
    case varint:
      return read_varint(f.value, 10);
    case fixed64:
    case fixed32: {
      const size_t n = type == fixed64 ? 8 : 4;
      if (in_.size() - pos_ < n) return false;
      for (size_t i = 0; i < n; ++i)
        f.value |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
      pos_ += n;
      return true;
    }
    case length:
      return read_length(f.bytes);
    default:  // groups are handled by the callers; 6 and 7 do not exist
      return false;
  }
}

bool field_reader::next(field& f) {
  while (!failed_ && pos_ < in_.size()) {
    f = field{};
    if (!read_tag(f.number, f.type)) return fail();
    if (f.type == 3) {  // a group: skipped whole
      if (!skip_group(f.number)) return fail();
      continue;
    }
    if (!read_value(f.type, f)) return fail();  // also an end-group without its start
    return true;
  }
  return false;
}

bool field_reader::skip_group(uint32_t number) {
  // The open groups' field numbers; a group ends at an end-group tag with its number.
  std::vector<uint32_t> open{number};
  while (!open.empty()) {
    field f;
    if (!read_tag(f.number, f.type)) return false;
    if (f.type == 3) {
      if (static_cast<int>(open.size()) + depth_ >= recursion_limit) return false;
      open.push_back(f.number);
    } else if (f.type == 4) {
      if (open.back() != f.number) return false;
      open.pop_back();
    } else if (!read_value(f.type, f)) {
      return false;
    }
  }
  return true;
}

// ---- client info ----

void encode_client_info(std::string& out, const client_info& info) {
  put_bytes(out, 1, info.user);
  put_bytes(out, 2, info.client);
  put_bytes(out, 3, info.conn_info);
  put_bytes(out, 4, info.chan_info);
}

std::string encode_client_info(const client_info& info) {
  std::string out;
  out.reserve(client_info_size(info));
  encode_client_info(out, info);
  return out;
}

bool decode_client_info(std::string_view in, client_info& out, int depth) {
  field_reader r(in, depth);
  field_reader::field f;
  while (r.next(f)) {
    if (f.type != length || f.number > 4) continue;
    std::string* dst = f.number == 1   ? &out.user
                       : f.number == 2 ? &out.client
                       : f.number == 3 ? &out.conn_info
                                       : &out.chan_info;
    dst->assign(f.bytes);
  }
  return !r.failed();
}

// ---- publication ----

namespace {

size_t tag_entry_size(const std::string& k, const std::string& v) {
  return bytes_field_size(1, k.size()) + bytes_field_size(2, v.size());
}

size_t varint_field_size(uint32_t field, uint64_t v) {
  return v == 0 ? 0 : varint_size(uint64_t{field} << 3) + varint_size(v);
}

}  // namespace

size_t encoded_publication_size(const publication& pub, bool delta) {
  size_t size = bytes_field_size(4, pub.data.size());
  if (pub.info) {
    const size_t n = client_info_size(*pub.info);
    size += 1 + varint_size(n) + n;
  }
  size += varint_field_size(6, pub.offset);
  for (const auto& [k, v] : pub.tags) {
    const size_t n = tag_entry_size(k, v);
    size += 1 + varint_size(n) + n;
  }
  return size + varint_field_size(8, delta ? 1 : 0) +
         varint_field_size(9, static_cast<uint64_t>(pub.time));
}

void encode_publication(std::string& out, const publication& pub, bool delta) {
  out.reserve(out.size() + encoded_publication_size(pub, delta));

  put_bytes(out, 4, pub.data);
  if (pub.info) {
    put_length_header(out, 5, client_info_size(*pub.info));
    encode_client_info(out, *pub.info);
  }
  put_varint_field(out, 6, pub.offset);
  for (const auto& [k, v] : pub.tags) {
    put_length_header(out, 7, tag_entry_size(k, v));
    put_bytes(out, 1, k);
    put_bytes(out, 2, v);
  }
  put_varint_field(out, 8, delta ? 1 : 0);
  put_varint_field(out, 9, static_cast<uint64_t>(pub.time));
}

std::string encode_publication(const publication& pub, bool delta) {
  std::string out;
  encode_publication(out, pub, delta);
  return out;
}

bool decode_publication(std::string_view in, publication& out, int depth) {
  field_reader r(in, depth);
  field_reader::field f;
  while (r.next(f)) {
    if (f.type == length) {
      switch (f.number) {
        case 4:
          out.data.assign(f.bytes);
          break;
        case 5: {
          // A repeated message field merges, as in libprotobuf.
          client_info& info = out.info ? *out.info : out.info.emplace();
          if (!decode_client_info(f.bytes, info, depth + 1)) return false;
          break;
        }
        case 7: {
          std::string key, value;
          if (!decode_entry(f.bytes, key, value, depth + 1)) return false;
          out.tags.emplace_back(std::move(key), std::move(value));
          break;
        }
        default:
          break;
      }
    } else if (f.type == varint) {
      switch (f.number) {
        case 6:
          out.offset = f.value;
          break;
        case 8:
          out.delta = f.value != 0;
          break;
        case 9:
          out.time = static_cast<int64_t>(f.value);
          break;
        default:
          break;
      }
    }
  }
  return !r.failed();
}

bool decode_publication_data(std::string_view in, std::string& data) {
  field_reader r(in);
  field_reader::field f;
  while (r.next(f)) {
    if (f.number == 4 && f.type == length) data.assign(f.bytes);
  }
  return !r.failed();
}

}  // namespace gyre::pb_wire
