// Schema-driven decoding and encoding of the config tree; see mapping.hpp.
#include "config/detail/mapping.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "config/detail/schema.hpp"

namespace gyre::config::detail {

namespace {

// A visitor that does nothing; only used to ask "does describe(v, T&) exist?".
struct probe_visitor {
  template <class T>
  void operator()(std::string_view, T&) {}
};

template <class T>
concept described = requires(probe_visitor& v, T& t) {
  describe(v, t);
};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
concept described_vector = is_vector<T>::value && described<typename T::value_type>;

template <class T>
concept integer = std::integral<T> && !std::same_as<T, bool>;

std::string kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "an array";
    case json::kind::string:
      return "a string";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::null:
      return "null";
    default:
      return "a number";
  }
}

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// Shortest fixed-notation text that reads back as `d` (Go's FormatFloat(d, 'f', -1, 64)).
std::string format_double(double d) {
  char buf[512];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  if (r.ec != std::errc{}) return "0";
  return std::string(buf, r.ptr);
}

// Weakly typed string: numbers in decimal, booleans as "1"/"0" (mapstructure's rule).
std::optional<std::string> weak_string(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_:
      return format_double(v.get_double());
    case json::kind::bool_:
      return v.get_bool() ? "1" : "0";
    default:
      return std::nullopt;
  }
}

// Signed decimal, or 0x / 0o / 0b prefixed; no spaces.
std::optional<int64_t> parse_int_text(std::string_view s) {
  if (s.empty()) return 0;
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    base = 16;
  else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
    base = 8;
  else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
    base = 2;
  if (base != 10) s.remove_prefix(2);
  if (s.empty()) return std::nullopt;
  uint64_t mag = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), mag, base);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) return std::nullopt;
  if (!negative && mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return std::nullopt;
  if (negative && mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1)
    return std::nullopt;
  return negative ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
}

// Replaces ${CENTRIFUGO_VAR_*} placeholders with environment values.
bool substitute_vars(std::string& s, std::string& error) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = s.find("${", pos);
    if (open == std::string::npos) break;
    size_t close = s.find('}', open + 2);
    if (close == std::string::npos) break;
    std::string name = s.substr(open + 2, close - open - 2);
    out.append(s, pos, open - pos);
    if (name.rfind("CENTRIFUGO_VAR_", 0) == 0) {
      const char* val = std::getenv(name.c_str());
      if (val == nullptr) {
        error = "environment variable " + name + " referenced by ${" + name + "} is not set";
        return false;
      }
      out += val;
    } else {
      out.append(s, open, close + 1 - open);  // not ours: keep literally
    }
    pos = close + 1;
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
  return true;
}

// ------------------------------------------------------------------ decoder

class decoder {
 public:
  explicit decoder(decode_report& r) : report_(r) {}

  template <class T>
  void decode_struct(const json::value& v, const std::string& path, T& out) {
    if (!v.is_object()) {
      error(path, "expected an object, got " + kind_name(v));
      return;
    }
    const json::object* saved_obj = obj_;
    std::string saved_path = std::move(path_);
    std::vector<std::string_view> saved_seen = std::move(seen_);
    obj_ = &v.get_object();
    path_ = path;
    seen_.clear();
    describe(*this, out);
    for (const auto& kv : *obj_) {
      if (std::find(seen_.begin(), seen_.end(), kv.key()) == seen_.end())
        report_.unknown_keys.push_back(join_key(path_, kv.key()));
    }
    obj_ = saved_obj;
    path_ = std::move(saved_path);
    seen_ = std::move(saved_seen);
  }

  // Schema callback: one key of the struct being decoded.
  template <class T>
  void operator()(std::string_view key, T& member) {
    seen_.push_back(key);
    const json::value* v = obj_->if_contains(key);
    if (v == nullptr || v->is_null()) return;
    decode_value(*v, join_key(path_, key), member);
  }

 private:
  void error(const std::string& path, const std::string& message) {
    report_.errors.push_back(path + ": " + message);
  }

  void decode_value(const json::value& v, const std::string& path, std::string& out) {
    auto s = weak_string(v);
    if (!s) return error(path, "expected a string, got " + kind_name(v));
    if (!s->empty()) out = std::move(*s);
  }

  void decode_value(const json::value& v, const std::string& path, bool& out) {
    bool b = false;
    switch (v.kind()) {
      case json::kind::bool_:
        b = v.get_bool();
        break;
      case json::kind::int64:
        b = v.get_int64() != 0;
        break;
      case json::kind::uint64:
        b = v.get_uint64() != 0;
        break;
      case json::kind::double_:
        b = v.get_double() != 0;
        break;
      case json::kind::string: {
        std::string_view s = v.get_string();
        if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True")
          b = true;
        else if (s.empty() || s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" ||
                 s == "False")
          b = false;
        else
          return error(path, "invalid boolean " + quoted(s));
        break;
      }
      default:
        return error(path, "expected a boolean, got " + kind_name(v));
    }
    if (b) out = true;
  }

  template <integer T>
  void decode_value(const json::value& v, const std::string& path, T& out) {
    int64_t i = 0;
    switch (v.kind()) {
      case json::kind::int64:
        i = v.get_int64();
        break;
      case json::kind::uint64:
        if (v.get_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return error(path, "integer out of range");
        i = static_cast<int64_t>(v.get_uint64());
        break;
      case json::kind::double_: {
        double d = v.get_double();
        if (!std::isfinite(d) || d != std::trunc(d) || std::fabs(d) > 9.0e18)
          return error(path, "expected an integer, got " + format_double(d));
        i = static_cast<int64_t>(d);
        break;
      }
      case json::kind::bool_:
        i = v.get_bool() ? 1 : 0;
        break;
      case json::kind::string: {
        auto p = parse_int_text(v.get_string());
        if (!p) return error(path, "invalid integer " + quoted(v.get_string()));
        i = *p;
        break;
      }
      default:
        return error(path, "expected an integer, got " + kind_name(v));
    }
    if constexpr (std::is_signed_v<T>) {
      if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          i > static_cast<int64_t>(std::numeric_limits<T>::max()))
        return error(path, "integer " + std::to_string(i) + " out of range");
    } else {
      if (i < 0 || static_cast<uint64_t>(i) > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return error(path, "integer " + std::to_string(i) + " out of range");
    }
    if (i != 0) out = static_cast<T>(i);
  }

  void decode_value(const json::value& v, const std::string& path, duration& out) {
    duration d{0};
    switch (v.kind()) {
      case json::kind::string: {
        auto p = parse_go_duration(v.get_string());
        if (!p) return error(path, "invalid duration " + quoted(v.get_string()));
        d = *p;
        break;
      }
      case json::kind::int64:
        d = duration{v.get_int64()};
        break;
      case json::kind::uint64:
        if (v.get_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return error(path, "duration out of range");
        d = duration{static_cast<int64_t>(v.get_uint64())};
        break;
      case json::kind::double_: {
        double x = v.get_double();
        if (!std::isfinite(x) || std::fabs(x) > 9.0e18) return error(path, "duration out of range");
        d = duration{static_cast<int64_t>(x)};
        break;
      }
      default:
        return error(path, "expected a duration string, got " + kind_name(v));
    }
    if (d.count() != 0) out = d;
  }

  void decode_value(const json::value& v, const std::string& path, std::vector<std::string>& out) {
    std::vector<std::string> items;
    if (v.is_array()) {
      const auto& arr = v.get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        auto s = weak_string(arr[i]);
        if (!s) {
          error(path + "[" + std::to_string(i) + "]",
                "expected a string, got " + kind_name(arr[i]));
          continue;
        }
        items.push_back(std::move(*s));
      }
    } else {
      auto s = weak_string(v);
      if (!s) return error(path, "expected a list of strings, got " + kind_name(v));
      if (!s->empty()) items.push_back(std::move(*s));  // a single scalar = one-element list
    }
    if (!items.empty()) out = std::move(items);
  }

  void decode_value(const json::value& v, const std::string& path, string_map& out) {
    string_map m;
    if (v.is_string()) {
      // A JSON object given as text (env form, or a file value copied from env).
      boost::system::error_code ec;
      json::value parsed = json::parse(v.get_string(), ec);
      if (ec || !parsed.is_object()) return error(path, "expected a JSON object");
      return decode_value(parsed, path, out);
    }
    if (v.is_object()) {
      for (const auto& kv : v.get_object()) {
        auto s = weak_string(kv.value());
        std::string p = join_key(path, kv.key());
        if (!s) {
          error(p, "expected a string, got " + kind_name(kv.value()));
          continue;
        }
        std::string err;
        if (!substitute_vars(*s, err)) {
          error(p, err);
          continue;
        }
        m[std::string(kv.key())] = std::move(*s);
      }
    } else if (v.is_array()) {
      const auto& arr = v.get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        std::string p = path + "[" + std::to_string(i) + "]";
        const json::object* item = arr[i].if_object();
        const json::value* k = item ? item->if_contains("key") : nullptr;
        const json::value* val = item ? item->if_contains("value") : nullptr;
        if (!item || !k || !k->is_string() || k->get_string().empty()) {
          error(p, "expected an object with a non-empty \"key\"");
          continue;
        }
        for (const auto& kv : *item)
          if (kv.key() != "key" && kv.key() != "value")
            report_.unknown_keys.push_back(join_key(p, kv.key()));
        std::string key(k->get_string());
        if (m.count(key)) {
          error(p, "duplicate key " + quoted(key));
          continue;
        }
        std::string s;
        if (val && !val->is_null()) {
          auto ws = weak_string(*val);
          if (!ws) {
            error(p + ".value", "expected a string, got " + kind_name(*val));
            continue;
          }
          s = std::move(*ws);
        }
        std::string err;
        if (!substitute_vars(s, err)) {
          error(p + ".value", err);
          continue;
        }
        m[key] = std::move(s);
      }
    } else {
      return error(path, "expected an object or a list of {key, value}, got " + kind_name(v));
    }
    if (!m.empty()) out = std::move(m);
  }

  void decode_value(const json::value& v, const std::string&, raw_json& out) {
    out.text_ = json::serialize(v);
  }

  template <described T>
  void decode_value(const json::value& v, const std::string& path, T& out) {
    decode_struct(v, path, out);
  }

  template <described T>
  void decode_value(const json::value& v, const std::string& path, std::vector<T>& out) {
    std::vector<T> items;
    if (v.is_object()) {  // a single object = one-element list
      items.emplace_back();
      decode_struct(v, path + "[0]", items.back());
    } else if (v.is_array()) {
      const auto& arr = v.get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        items.emplace_back();
        decode_struct(arr[i], path + "[" + std::to_string(i) + "]", items.back());
      }
    } else {
      return error(path, "expected a list of objects, got " + kind_name(v));
    }
    if (!items.empty()) out = std::move(items);
  }

  decode_report& report_;
  const json::object* obj_ = nullptr;
  std::string path_;
  std::vector<std::string_view> seen_;
};

// ------------------------------------------------------------------ encoder

json::value encode_value(const std::string& s) {
  return json::string(s);
}
json::value encode_value(bool b) {
  return b;
}
template <integer T>
json::value encode_value(T i) {
  return static_cast<int64_t>(i);
}
json::value encode_value(duration d) {
  return json::string(format_go_duration(d));
}
json::value encode_value(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.push_back(json::string(s));
  return a;
}
json::value encode_value(const string_map& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = json::string(v);
  return o;
}
json::value encode_value(const raw_json& r) {
  if (r.text_.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(r.text_, ec);
  return ec ? json::value(nullptr) : v;
}

class encoder {
 public:
  explicit encoder(json::object& o) : obj_(o) {}
  template <class T>
  void operator()(std::string_view key, T& member) {
    obj_[key] = encode(member);
  }

  template <class T>
  static json::value encode(T& member) {
    if constexpr (described<T>) {
      json::object o;
      encoder e(o);
      describe(e, member);
      return o;
    } else if constexpr (described_vector<T>) {
      json::array a;
      for (auto& item : member) a.push_back(encode(item));
      return a;
    } else {
      return encode_value(member);
    }
  }

 private:
  json::object& obj_;
};

// ------------------------------------------------------------------ leaves

class leaf_walker {
 public:
  explicit leaf_walker(std::vector<leaf>& out) : out_(out) {}

  template <class T>
  void operator()(std::string_view key, T& member) {
    prefix_.emplace_back(key);
    if constexpr (described<T>) {
      describe(*this, member);
    } else if constexpr (described_vector<T>) {
      auto elements = std::make_shared<std::vector<leaf>>();
      typename T::value_type element{};
      leaf_walker w(*elements);
      describe(w, element);
      out_.push_back(leaf{prefix_, leaf_kind::object_array, std::move(elements)});
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      out_.push_back(leaf{prefix_, leaf_kind::string_list, nullptr});
    } else if constexpr (std::is_same_v<T, string_map>) {
      out_.push_back(leaf{prefix_, leaf_kind::string_map, nullptr});
    } else if constexpr (std::is_same_v<T, raw_json>) {
      out_.push_back(leaf{prefix_, leaf_kind::raw, nullptr});
    } else {
      out_.push_back(leaf{prefix_, leaf_kind::scalar, nullptr});
    }
    prefix_.pop_back();
  }

 private:
  std::vector<leaf>& out_;
  std::vector<std::string> prefix_;
};

}  // namespace

std::string join_key(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out;
  out.reserve(parent.size() + 1 + key.size());
  out += parent;
  out += '.';
  out += key;
  return out;
}

const std::vector<leaf>& config_leaves() {
  static const std::vector<leaf> leaves = [] {
    std::vector<leaf> out;
    config c;
    leaf_walker w(out);
    describe(w, c);
    return out;
  }();
  return leaves;
}

void decode_config(const json::value& root, config& out, decode_report& report) {
  decoder d(report);
  d.decode_struct(root, "", out);
}

json::value encode_config(const config& c) {
  config copy = c;  // the schema binds non-const members
  return encoder::encode(copy);
}

}  // namespace gyre::config::detail
