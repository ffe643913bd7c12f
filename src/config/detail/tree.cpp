// Format conversion for the config tree; see tree.hpp.
#include "config/detail/tree.hpp"

#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <memory>
#include <sstream>

#include "core/utf8.hpp"

namespace gyre::config::detail {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ------------------------------------------------------------------ limits

// A config file is trusted, but reading one must not crash or hang whatever it holds
// (`checkconfig` runs on any file; tests/fuzz/config_fuzz.cpp feeds it anything). Every
// walk of a tree (the parsers', the conversions below, mapping, destruction) recurses per
// level, so nesting is bounded before it can reach the stack limit, and YAML aliases,
// which share nodes, are bounded in how much tree they may expand to.
// Centrifugo's configs nest about 6 levels (raw consumer blocks a few more).
constexpr int max_depth = 64;
// Tree nodes a YAML document may expand to: generous for anchors and merge keys in real
// files (a node takes at least a byte or two of text), fatal for "billion laughs".
size_t yaml_node_budget(size_t text_size) {
  return 4096 + 16 * text_size;
}

// ------------------------------------------------------------------ YAML → tree

bool all_of(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}
bool dec_digit(char c) {
  return c >= '0' && c <= '9';
}
bool hex_digit(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool oct_digit(char c) {
  return c >= '0' && c <= '7';
}

// Types a plain (unquoted, untagged) YAML scalar per the YAML 1.2 core schema.
json::value plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;

  std::string_view body = s;
  bool negative = false;
  if (body[0] == '-' || body[0] == '+') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  int base = 0;
  if (all_of(body, dec_digit))
    base = 10;
  else if (body.size() > 2 && body.substr(0, 2) == "0x" && all_of(body.substr(2), hex_digit))
    base = 16;
  else if (body.size() > 2 && body.substr(0, 2) == "0o" && all_of(body.substr(2), oct_digit))
    base = 8;
  if (base != 0) {
    std::string_view digits = base == 10 ? body : body.substr(2);
    uint64_t mag = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), mag, base);
    if (r.ec == std::errc{}) {
      if (!negative && mag <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(mag);
      if (!negative) return mag;
      if (mag <= static_cast<uint64_t>(INT64_MAX) + 1) return static_cast<int64_t>(0 - mag);
    }
    return json::string(s);  // out of range: keep the text
  }
  // Floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  {
    size_t i = 0;
    size_t int_digits = 0;
    size_t frac_digits = 0;
    while (i < body.size() && dec_digit(body[i])) ++i, ++int_digits;
    bool dot = i < body.size() && body[i] == '.';
    if (dot) {
      ++i;
      while (i < body.size() && dec_digit(body[i])) ++i, ++frac_digits;
    }
    bool ok = int_digits + frac_digits > 0 && (dot || (i < body.size()));
    if (ok && i < body.size()) {
      if (body[i] == 'e' || body[i] == 'E') {
        ++i;
        if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
        size_t exp_digits = 0;
        while (i < body.size() && dec_digit(body[i])) ++i, ++exp_digits;
        ok = exp_digits > 0;
      } else {
        ok = false;
      }
    }
    if (ok && i == body.size()) {
      double d = 0;
      auto r = std::from_chars(body.data(), body.data() + body.size(), d);
      if (r.ec == std::errc{} && r.ptr == body.data() + body.size()) return negative ? -d : d;
    }
  }
  return json::string(s);
}

// What a YAML conversion may still spend: nesting (an alias that contains itself is
// infinitely deep) and nodes (aliases of aliases multiply).
struct yaml_budget {
  int depth = 0;
  size_t nodes_left = 0;

  // One more level and node; false (with `error` set) when either is used up.
  bool enter(std::string& error) {
    if (nodes_left == 0) {
      error = "yaml: the document expands to too many nodes (aliases of aliases?)";
      return false;
    }
    --nodes_left;
    if (depth >= max_depth) {
      error = "yaml: nested deeper than " + std::to_string(max_depth) +
              " levels (or an alias that contains itself)";
      return false;
    }
    ++depth;
    return true;
  }
  void leave() { --depth; }
};

// enter() ... leave() around a scope.
class yaml_level {
 public:
  yaml_level(yaml_budget& b, std::string& error) : b_(b), ok_(b.enter(error)) {}
  ~yaml_level() {
    if (ok_) b_.leave();
  }
  bool ok() const { return ok_; }

 private:
  yaml_budget& b_;
  bool ok_;
};

bool from_yaml(const YAML::Node& n, json::value& out, std::string& error, yaml_budget& b);

// yaml-cpp passes bytes through; JSON and TOML texts must be UTF-8 (Boost.JSON and toml++
// check), and so must YAML's (Go's reader checks too). Without this, a dump of the config
// in another format would not read back to the same value.
bool utf8_scalar(const YAML::Node& n, std::string& error) {
  if (is_valid_utf8(n.Scalar())) return true;
  error = "yaml: invalid UTF-8 (line " + std::to_string(n.Mark().line + 1) + ")";
  return false;
}

bool merge_yaml_map(const YAML::Node& n, json::object& obj, std::string& error, yaml_budget& b) {
  // Explicit keys first; `<<` merge keys only fill in what is not set explicitly.
  std::vector<YAML::Node> merges;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) {
      error = "yaml: only scalar mapping keys are supported (line " +
              std::to_string(it->first.Mark().line + 1) + ")";
      return false;
    }
    if (!utf8_scalar(it->first, error)) return false;
    std::string key = it->first.Scalar();
    if (key == "<<" && it->first.Tag() != "!") {
      merges.push_back(it->second);
      continue;
    }
    json::value v;
    if (!from_yaml(it->second, v, error, b)) return false;
    obj[lower(key)] = std::move(v);
  }
  for (const auto& m : merges) {
    std::vector<YAML::Node> sources;
    if (m.IsMap())
      sources.push_back(m);
    else if (m.IsSequence())
      for (const auto& e : m) sources.push_back(e);
    for (const auto& src : sources) {
      if (!src.IsMap()) {
        error = "yaml: merge key value must be a mapping";
        return false;
      }
      yaml_level level(b, error);  // `<<: *self` merges itself forever
      if (!level.ok()) return false;
      json::object merged;
      if (!merge_yaml_map(src, merged, error, b)) return false;
      for (auto& kv : merged)
        if (!obj.contains(kv.key())) obj[kv.key()] = kv.value();
    }
  }
  return true;
}

bool from_yaml(const YAML::Node& n, json::value& out, std::string& error, yaml_budget& b) {
  yaml_level level(b, error);
  if (!level.ok()) return false;
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out = nullptr;
      return true;
    case YAML::NodeType::Scalar: {
      if (!utf8_scalar(n, error)) return false;
      const std::string& tag = n.Tag();
      if (tag == "!" || tag == "tag:yaml.org,2002:str")
        out = json::string(n.Scalar());
      else
        out = plain_scalar(n.Scalar());
      return true;
    }
    case YAML::NodeType::Sequence: {
      json::array arr;
      for (const auto& e : n) {
        json::value v;
        if (!from_yaml(e, v, error, b)) return false;
        arr.push_back(std::move(v));
      }
      out = std::move(arr);
      return true;
    }
    case YAML::NodeType::Map: {
      json::object obj;
      if (!merge_yaml_map(n, obj, error, b)) return false;
      out = std::move(obj);
      return true;
    }
  }
  out = nullptr;
  return true;
}

// ------------------------------------------------------------------ TOML → tree

// toml++ limits nested arrays and inline tables, but not dotted keys: `a.a.a…a = 1` builds
// one table per segment, and toml++ frees (and we convert) its tree recursively. So the
// nesting a text can build is bounded before toml++ sees it. Per statement, the estimate
// adds the dots of the current [table] header, the dots in key positions (dotted keys,
// also inside inline tables) and the open brackets; it is never below the real depth.
bool toml_nesting_ok(std::string_view text, std::string& error) {
  enum class in { code, basic, literal, ml_basic, ml_literal, comment };
  in state = in::code;
  std::string brackets;  // open '[' and '{' of values
  bool key = true;       // in a key position
  bool header = false;   // inside [table] or [[array of tables]]
  int header_dots = 0;   // of the current table
  int statement_dots = 0;
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    switch (state) {
      case in::comment:
        if (c == '\n')
          state = in::code;
        else
          continue;
        break;
      case in::basic:
        if (c == '\\')
          ++i;
        else if (c == '"' || c == '\n')
          state = in::code;
        continue;
      case in::literal:
        if (c == '\'' || c == '\n') state = in::code;
        continue;
      case in::ml_basic:
        if (c == '\\')
          ++i;
        else if (text.substr(i, 3) == "\"\"\"")
          state = in::code, i += 2;
        continue;
      case in::ml_literal:
        if (text.substr(i, 3) == "'''") state = in::code, i += 2;
        continue;
      case in::code:
        break;
    }
    switch (c) {
      case '\n':
        if (brackets.empty()) {
          key = true;
          header = false;
          statement_dots = 0;
        }
        break;
      case '#':
        state = in::comment;
        break;
      case '"':
        state = text.substr(i, 3) == "\"\"\"" ? (i += 2, in::ml_basic) : in::basic;
        break;
      case '\'':
        state = text.substr(i, 3) == "'''" ? (i += 2, in::ml_literal) : in::literal;
        break;
      case '.':
        if (header)
          ++header_dots;
        else if (key)
          ++statement_dots;
        break;
      case '=':
        key = false;
        break;
      case '[':
        if (key && brackets.empty() && !header && statement_dots == 0) {
          if (!header) header_dots = 0;
          header = true;
        } else if (!header) {
          brackets.push_back('[');
        }
        break;
      case '{':
        brackets.push_back('{');
        key = true;
        break;
      case ']':
      case '}':
        if (!brackets.empty()) brackets.pop_back();
        key = false;
        break;
      case ',':
        key = !brackets.empty() && brackets.back() == '{';
        break;
      default:
        break;
    }
    if (header_dots + statement_dots + static_cast<int>(brackets.size()) > max_depth) {
      error = "invalid TOML: nested deeper than " + std::to_string(max_depth) + " levels (line " +
              std::to_string(line) + ")";
      return false;
    }
  }
  return true;
}

json::value from_toml(const toml::node& n) {
  if (auto* t = n.as_table()) {
    json::object obj;
    for (auto&& [k, v] : *t) obj[lower(k.str())] = from_toml(v);
    return obj;
  }
  if (auto* a = n.as_array()) {
    json::array arr;
    for (auto& e : *a) arr.push_back(from_toml(e));
    return arr;
  }
  if (auto* s = n.as_string()) return json::string(s->get());
  if (auto* i = n.as_integer()) return i->get();
  if (auto* f = n.as_floating_point()) return f->get();
  if (auto* b = n.as_boolean()) return b->get();
  // Dates and times: keep their TOML text.
  std::ostringstream os;
  if (auto* d = n.as_date())
    os << d->get();
  else if (auto* tm = n.as_time())
    os << tm->get();
  else if (auto* dt = n.as_date_time())
    os << dt->get();
  return json::string(os.str());
}

// ------------------------------------------------------------------ renderers

void pretty_json(const json::value& v, std::string& out, int indent) {
  auto pad = [&](int n) { out.append(static_cast<size_t>(n) * 2, ' '); };
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    size_t i = 0;
    for (const auto& kv : o) {
      pad(indent + 1);
      out += json::serialize(json::string(kv.key()));
      out += ": ";
      pretty_json(kv.value(), out, indent + 1);
      if (++i < o.size()) out += ',';
      out += '\n';
    }
    pad(indent);
    out += '}';
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < a.size(); ++i) {
      pad(indent + 1);
      pretty_json(a[i], out, indent + 1);
      if (i + 1 < a.size()) out += ',';
      out += '\n';
    }
    pad(indent);
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

void emit_yaml(YAML::Emitter& e, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) e << YAML::Flow;
      e << YAML::BeginMap;
      for (const auto& kv : o) {
        e << YAML::Key << std::string(kv.key()) << YAML::Value;
        emit_yaml(e, kv.value());
      }
      e << YAML::EndMap;
      break;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) e << YAML::Flow;
      e << YAML::BeginSeq;
      for (const auto& x : a) emit_yaml(e, x);
      e << YAML::EndSeq;
      break;
    }
    case json::kind::string:
      // Always quoted, so that "8000" or "true" stay strings when read back.
      e << YAML::DoubleQuoted << std::string(v.get_string());
      break;
    case json::kind::int64:
      e << v.get_int64();
      break;
    case json::kind::uint64:
      e << v.get_uint64();
      break;
    case json::kind::double_:
      e << v.get_double();
      break;
    case json::kind::bool_:
      e << v.get_bool();
      break;
    case json::kind::null:
      e << YAML::Null;
      break;
  }
}

// TOML has no null: null members are dropped.
std::unique_ptr<toml::node> to_toml(const json::value& v);

toml::table to_toml_table(const json::object& o) {
  toml::table t;
  for (const auto& kv : o) {
    if (kv.value().is_null()) continue;
    auto n = to_toml(kv.value());
    std::string_view key = kv.key();
    if (auto* tt = n->as_table())
      t.insert(key, std::move(*tt));
    else if (auto* ta = n->as_array())
      t.insert(key, std::move(*ta));
    else if (auto* s = n->as_string())
      t.insert(key, s->get());
    else if (auto* i = n->as_integer())
      t.insert(key, i->get());
    else if (auto* f = n->as_floating_point())
      t.insert(key, f->get());
    else if (auto* b = n->as_boolean())
      t.insert(key, b->get());
  }
  return t;
}

std::unique_ptr<toml::node> to_toml(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return std::make_unique<toml::table>(to_toml_table(v.get_object()));
    case json::kind::array: {
      auto arr = std::make_unique<toml::array>();
      for (const auto& x : v.get_array()) {
        if (x.is_null()) continue;
        auto n = to_toml(x);
        if (auto* tt = n->as_table())
          arr->push_back(std::move(*tt));
        else if (auto* ta = n->as_array())
          arr->push_back(std::move(*ta));
        else if (auto* s = n->as_string())
          arr->push_back(s->get());
        else if (auto* i = n->as_integer())
          arr->push_back(i->get());
        else if (auto* f = n->as_floating_point())
          arr->push_back(f->get());
        else if (auto* b = n->as_boolean())
          arr->push_back(b->get());
      }
      return arr;
    }
    case json::kind::string:
      return std::make_unique<toml::value<std::string>>(std::string(v.get_string()));
    case json::kind::int64:
      return std::make_unique<toml::value<int64_t>>(v.get_int64());
    case json::kind::uint64:
      if (v.get_uint64() <= static_cast<uint64_t>(INT64_MAX))
        return std::make_unique<toml::value<int64_t>>(static_cast<int64_t>(v.get_uint64()));
      return std::make_unique<toml::value<double>>(static_cast<double>(v.get_uint64()));
    case json::kind::double_:
      return std::make_unique<toml::value<double>>(v.get_double());
    case json::kind::bool_:
      return std::make_unique<toml::value<bool>>(v.get_bool());
    case json::kind::null:
      break;
  }
  return std::make_unique<toml::value<std::string>>(std::string());
}

}  // namespace

json::value lower_keys(const json::value& v) {
  if (v.is_object()) {
    json::object out;
    for (const auto& kv : v.get_object()) out[lower(kv.key())] = lower_keys(kv.value());
    return out;
  }
  if (v.is_array()) {
    json::array out;
    for (const auto& x : v.get_array()) out.push_back(lower_keys(x));
    return out;
  }
  return v;
}

bool parse_tree(std::string_view text, file_format fmt, json::value& out, std::string& error) {
  json::value root;
  switch (fmt) {
    case file_format::json: {
      boost::system::error_code ec;
      root = json::parse(text, ec);
      if (ec) {
        error = "invalid JSON: " + ec.message();
        return false;
      }
      root = lower_keys(root);
      break;
    }
    case file_format::yaml: {
      try {
        YAML::Node n = YAML::Load(std::string(text));
        yaml_budget budget{0, yaml_node_budget(text.size())};
        if (!from_yaml(n, root, error, budget)) return false;
      } catch (const YAML::Exception& e) {
        error = std::string("invalid YAML: ") + e.what();
        return false;
      }
      break;
    }
    case file_format::toml: {
      if (!toml_nesting_ok(text, error)) return false;
      try {
        toml::table t = toml::parse(text);
        root = from_toml(t);
      } catch (const toml::parse_error& e) {
        std::ostringstream os;
        os << "invalid TOML: " << e.description() << " (line " << e.source().begin.line
           << ", column " << e.source().begin.column << ")";
        error = os.str();
        return false;
      }
      break;
    }
  }
  if (root.is_null()) root = json::object{};
  if (!root.is_object()) {
    error = "config root must be an object";
    return false;
  }
  out = std::move(root);
  return true;
}

std::string render_tree(const json::value& v, file_format fmt) {
  std::string out;
  switch (fmt) {
    case file_format::json:
      pretty_json(v, out, 0);
      break;
    case file_format::yaml: {
      YAML::Emitter e;
      e.SetIndent(2);
      emit_yaml(e, v);
      out = e.c_str();
      break;
    }
    case file_format::toml: {
      std::ostringstream os;
      constexpr auto flags = toml::toml_formatter::default_flags & ~toml::format_flags::indentation;
      if (v.is_object()) os << toml::toml_formatter{to_toml_table(v.get_object()), flags};
      out = os.str();
      break;
    }
  }
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

}  // namespace gyre::config::detail
