// proto_json: see proto_json.hpp.
#include "grpc_api/proto_json.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <simdjson.h>

#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "protocol/data_format.hpp"

namespace gyre::grpc_api {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool write_message(const Message& m, json_writer& w);

// One value of field `f` (element `index` when repeated, -1 otherwise).
bool write_value(const Message& m, const FieldDescriptor* f, int index, json_writer& w) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      w.number(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_INT64:
      w.number(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      w.number(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      w.number(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      w.number(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_FLOAT:
      w.number(static_cast<double>(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f)));
      return true;
    case FieldDescriptor::CPPTYPE_BOOL:
      w.boolean(rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_ENUM:
      w.number(
          static_cast<int64_t>(rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f)));
      return true;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                 : r->GetStringReference(m, f, &scratch);
      if (f->type() != FieldDescriptor::TYPE_BYTES) {
        w.string(s);
        return true;
      }
      // A bytes value outside the b64 convention (see write_message): JSON as it is.
      if (!protocol::valid_json(s)) return false;
      w.raw(s);
      return true;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return write_message(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), w);
  }
  return false;
}

bool write_message(const Message& m, json_writer& w) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  w.begin_object();
  for (const FieldDescriptor* f : fields) {
    if (f->is_map()) {
      // Map entries are messages of two fields: key (1) and value (2).
      w.key(f->name()).begin_object();
      for (int i = 0, n = r->FieldSize(m, f); i < n; ++i) {
        const Message& entry = r->GetRepeatedMessage(m, f, i);
        const FieldDescriptor* kf = entry.GetDescriptor()->map_key();
        const FieldDescriptor* vf = entry.GetDescriptor()->map_value();
        std::string scratch;
        w.key(entry.GetReflection()->GetStringReference(entry, kf, &scratch));
        if (!write_value(entry, vf, -1, w)) return false;
      }
      w.end_object();
      continue;
    }
    if (f->is_repeated()) {
      w.key(f->name()).begin_array();
      for (int i = 0, n = r->FieldSize(m, f); i < n; ++i)
        if (!write_value(m, f, i, w)) return false;
      w.end_array();
      continue;
    }
    if (f->type() == FieldDescriptor::TYPE_BYTES) {
      const FieldDescriptor* b64 = m.GetDescriptor()->FindFieldByName("b64" + f->name());
      if (b64 && b64->type() == FieldDescriptor::TYPE_STRING && !b64->is_repeated()) {
        // Set, the sibling wins (it is listed itself); else the bytes go as base64.
        if (r->GetStringReference(m, b64, nullptr).empty()) {
          std::string scratch;
          w.member(b64->name(), base64_encode(r->GetStringReference(m, f, &scratch)));
        }
        continue;
      }
    }
    w.key(f->name());
    if (!write_value(m, f, -1, w)) return false;
  }
  w.end_object();
  return true;
}

namespace od = simdjson::ondemand;

// The exact JSON text of `v` (an object or array as written; a scalar's token).
bool raw_text(od::value v, std::string& out) {
  od::json_type t;
  if (v.type().get(t)) return false;
  std::string_view raw;
  if (t == od::json_type::object) {
    od::object o;
    if (v.get_object().get(o) || o.raw_json().get(raw)) return false;
  } else if (t == od::json_type::array) {
    od::array a;
    if (v.get_array().get(a) || a.raw_json().get(raw)) return false;
  } else {
    raw = v.raw_json_token();
    while (!raw.empty() &&
           (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t'))
      raw.remove_suffix(1);
  }
  out.assign(raw.data(), raw.size());
  return true;
}

bool read_object(od::object o, Message& m);

// Sets (or, when `repeated`, adds) the value `v` of field `f` of `m`.
bool read_value(od::value v, Message& m, const FieldDescriptor* f, bool repeated) {
  const Reflection* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_ENUM: {
      int64_t x = 0;
      if (v.get_int64().get(x)) return false;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT64)
        repeated ? r->AddInt64(&m, f, x) : r->SetInt64(&m, f, x);
      else if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT32)
        repeated ? r->AddInt32(&m, f, static_cast<int32_t>(x))
                 : r->SetInt32(&m, f, static_cast<int32_t>(x));
      else
        repeated ? r->AddEnumValue(&m, f, static_cast<int>(x))
                 : r->SetEnumValue(&m, f, static_cast<int>(x));
      return true;
    }
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t x = 0;
      if (v.get_uint64().get(x)) return false;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_UINT64)
        repeated ? r->AddUInt64(&m, f, x) : r->SetUInt64(&m, f, x);
      else
        repeated ? r->AddUInt32(&m, f, static_cast<uint32_t>(x))
                 : r->SetUInt32(&m, f, static_cast<uint32_t>(x));
      return true;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double x = 0;
      if (v.get_double().get(x)) return false;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE)
        repeated ? r->AddDouble(&m, f, x) : r->SetDouble(&m, f, x);
      else
        repeated ? r->AddFloat(&m, f, static_cast<float>(x))
                 : r->SetFloat(&m, f, static_cast<float>(x));
      return true;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool x = false;
      if (v.get_bool().get(x)) return false;
      repeated ? r->AddBool(&m, f, x) : r->SetBool(&m, f, x);
      return true;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s;
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        if (!raw_text(v, s)) return false;
      } else {
        std::string_view sv;
        if (v.get_string().get(sv)) return false;
        s.assign(sv.data(), sv.size());
      }
      repeated ? r->AddString(&m, f, std::move(s)) : r->SetString(&m, f, std::move(s));
      return true;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      od::object o;
      if (v.get_object().get(o)) return false;
      return read_object(o, repeated ? *r->AddMessage(&m, f) : *r->MutableMessage(&m, f));
    }
  }
  return false;
}

bool read_object(od::object o, Message& m) {
  const auto* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  for (auto member : o) {
    std::string_view key;
    if (member.unescaped_key().get(key)) return false;
    const FieldDescriptor* f = d->FindFieldByName(std::string(key));
    od::value v;
    if (member.value().get(v)) return false;
    if (!f) continue;  // not in the message: skipped by the iteration
    bool null = false;
    if (v.is_null().get(null)) return false;
    if (null) continue;
    if (f->is_map()) {
      od::object entries;
      if (v.get_object().get(entries)) return false;
      for (auto e : entries) {
        std::string_view k;
        od::value ev;
        if (e.unescaped_key().get(k) || e.value().get(ev)) return false;
        Message* entry = r->AddMessage(&m, f);
        const auto* ed = entry->GetDescriptor();
        entry->GetReflection()->SetString(entry, ed->map_key(), std::string(k));
        if (!read_value(ev, *entry, ed->map_value(), false)) return false;
      }
    } else if (f->is_repeated()) {
      od::array items;
      if (v.get_array().get(items)) return false;
      for (auto item : items) {
        od::value iv;
        if (item.get(iv) || !read_value(iv, m, f, true)) return false;
      }
    } else if (!read_value(v, m, f, false)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool to_params(const Message& m, std::string& out) {
  json_writer w(out);
  return write_message(m, w);
}

bool from_result(std::string& json, Message& m) {
  thread_local od::parser parser;
  const size_t size = json.size();
  json.reserve(size + simdjson::SIMDJSON_PADDING);
  od::document doc;
  if (parser.iterate(json.data(), size, json.capacity()).get(doc)) return false;
  od::object o;
  if (doc.get_object().get(o)) return false;
  return read_object(o, m);
}

}  // namespace gyre::grpc_api
