// Config loading: file → tree, env and flag overlays, tree → structs. See loader.hpp.
#include "config/loader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "config/detail/mapping.hpp"
#include "config/detail/tree.hpp"

extern char** environ;  // NOLINT: POSIX

namespace gyre::config {

namespace {

namespace json = boost::json;
using detail::leaf;
using detail::leaf_kind;

constexpr std::string_view k_env_prefix = "CENTRIFUGO_";

// The arrays whose items can be addressed by name in env var names.
bool is_named_array(const std::vector<std::string>& path) {
  static const std::vector<std::vector<std::string>> named = {
      {"channel", "namespaces"}, {"rpc", "namespaces"}, {"proxies"}, {"consumers"}};
  return std::find(named.begin(), named.end(), path) != named.end();
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split_spaces(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

// Env name segment for a named item: upper-cased, '.' and '-' → '_'.
std::string item_env_segment(std::string_view name) {
  std::string out = upper(name);
  for (char& c : out)
    if (c == '.' || c == '-') c = '_';
  return out;
}

std::string env_name(const std::vector<std::string>& path) {
  return std::string(k_env_prefix) + upper(join(path, "_"));
}

// Kubernetes injects <SERVICE>_PORT..., <SERVICE>_SERVICE_... for a service named
// "centrifugo"; those must not be reported as unknown config variables.
bool is_ignored_env(std::string_view name) {
  if (name.rfind("CENTRIFUGO_VAR_", 0) == 0) return true;
  if (name.find("_SERVICE_") != std::string_view::npos) return true;
  if (name.size() >= 5 && name.substr(name.size() - 5) == "_PORT") return true;
  return name.find("_PORT_") != std::string_view::npos;
}

// Converts env/flag text to a tree value for a leaf of the given kind.
bool text_to_value(const leaf& l, std::string_view text, json::value& out, std::string& error) {
  switch (l.kind) {
    case leaf_kind::scalar:
      out = json::string(text);
      return true;
    case leaf_kind::string_list: {
      json::array a;
      for (auto& w : split_spaces(text)) a.push_back(json::string(w));
      out = std::move(a);
      return true;
    }
    case leaf_kind::string_map: {
      boost::system::error_code ec;
      json::value v = json::parse(text, ec);
      if (ec || !v.is_object()) {
        error = "expected a JSON object";
        return false;
      }
      out = std::move(v);  // keys keep their case
      return true;
    }
    case leaf_kind::object_array: {
      std::string t = trim(text);
      if (!t.empty() && t[0] == '[') {
        boost::system::error_code ec;
        json::value v = json::parse(t, ec);
        if (ec || !v.is_array()) {
          error = "invalid JSON array";
          return false;
        }
        out = detail::lower_keys(v);
        return true;
      }
      if (!is_named_array(l.path)) {
        error = "expected a JSON array";
        return false;
      }
      json::array a;
      for (auto& name : split_spaces(t)) a.push_back(json::object{{"name", name}});
      out = std::move(a);
      return true;
    }
    case leaf_kind::raw: {
      boost::system::error_code ec;
      json::value v = json::parse(text, ec);
      out = ec ? json::value(json::string(text)) : detail::lower_keys(v);
      return true;
    }
  }
  return false;
}

// Writes `value` at `path` below `root`, creating (or replacing non-object) parents.
void set_path(json::object& root, const std::vector<std::string>& path, json::value value) {
  json::object* cur = &root;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    json::value& next = (*cur)[path[i]];
    if (!next.is_object()) next = json::object{};
    cur = &next.get_object();
  }
  (*cur)[path.back()] = std::move(value);
}

template <class Object>
auto find_path(Object& root, const std::vector<std::string>& path)
    -> decltype(root.if_contains("")) {
  Object* cur = &root;
  for (size_t i = 0; i < path.size(); ++i) {
    auto* v = cur->if_contains(path[i]);
    if (v == nullptr) return nullptr;
    if (i + 1 == path.size()) return v;
    if (!v->is_object()) return nullptr;
    cur = &v->get_object();
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> read_environment() {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

struct overlay_state {
  std::unordered_map<std::string, std::string> env;  // CENTRIFUGO_* only
  std::set<std::string> known;                       // names we recognised
  std::vector<std::string> errors;
};

// Applies one variable if it is set (an empty value counts as unset, as in viper).
void apply_env(overlay_state& st, const std::string& name, const leaf& l, json::object& target) {
  st.known.insert(name);
  auto it = st.env.find(name);
  if (it == st.env.end() || it->second.empty()) return;
  json::value v;
  std::string err;
  if (!text_to_value(l, it->second, v, err)) {
    st.errors.push_back(name + ": " + err);
    return;
  }
  set_path(target, l.path, std::move(v));
}

void apply_env_overlay(json::object& root, overlay_state& st) {
  const auto& leaves = detail::config_leaves();
  for (const auto& l : leaves) apply_env(st, env_name(l.path), l, root);

  // Per-item overrides of named arrays, for items from the file or from env.
  for (const auto& l : leaves) {
    if (l.kind != leaf_kind::object_array || !is_named_array(l.path)) continue;
    json::value* arr = find_path(root, l.path);
    if (arr == nullptr) continue;
    if (arr->is_object()) *arr = json::array{*arr};  // single object = one-element list
    if (!arr->is_array()) continue;
    std::string base = env_name(l.path);
    for (auto& item : arr->get_array()) {
      json::object* obj = item.if_object();
      if (obj == nullptr) continue;
      const json::value* name = obj->if_contains("name");
      if (name == nullptr || !name->is_string() || name->get_string().empty()) continue;
      std::string prefix = base + "_" + item_env_segment(name->get_string()) + "_";
      for (const auto& el : *l.element_leaves) {
        if (el.path.size() == 1 && el.path[0] == "name") continue;
        apply_env(st, prefix + upper(join(el.path, "_")), el, *obj);
      }
    }
  }
}

void finish(json::value root, const load_options& options, load_result& r) {
  json::object& obj = root.get_object();
  std::vector<std::string> errors;

  if (options.use_env_) {
    overlay_state st;
    for (auto& [k, v] : read_environment())
      if (k.rfind(k_env_prefix, 0) == 0) st.env.emplace(k, v);
    apply_env_overlay(obj, st);
    errors.insert(errors.end(), st.errors.begin(), st.errors.end());
    std::vector<std::string> unknown_env;
    for (const auto& [name, value] : st.env)
      if (!st.known.count(name) && !is_ignored_env(name)) unknown_env.push_back(name);
    std::sort(unknown_env.begin(), unknown_env.end());
    for (const auto& name : unknown_env) {
      r.warnings_.push_back("unknown environment variable: " + name);
      r.unknown_keys_.push_back(name);
    }
  }

  for (const auto& [key, value] : options.flags_) {
    std::vector<std::string> path;
    std::string lk = lower(key);
    size_t start = 0;
    while (true) {
      size_t dot = lk.find('.', start);
      path.push_back(lk.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    const auto& leaves = detail::config_leaves();
    auto it =
        std::find_if(leaves.begin(), leaves.end(), [&](const leaf& l) { return l.path == path; });
    if (it == leaves.end()) {
      errors.push_back("flag " + key + ": unknown config key");
      continue;
    }
    json::value v;
    std::string err;
    if (!text_to_value(*it, value, v, err)) {
      errors.push_back("flag " + key + ": " + err);
      continue;
    }
    set_path(obj, path, std::move(v));
  }

  detail::decode_report report;
  detail::decode_config(root, r.config_, report);
  for (const auto& k : report.unknown_keys) {
    r.warnings_.push_back("unknown config key: " + k);
    r.unknown_keys_.push_back(k);
  }
  errors.insert(errors.end(), report.errors.begin(), report.errors.end());
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i) r.error_ += "; ";
    r.error_ += errors[i];
  }
}

// Strips a trailing " # comment" from an unquoted .env value.
std::string strip_comment(std::string_view v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(v[i - 1]))))
      return trim(v.substr(0, i));
  return trim(v);
}

}  // namespace

bool load_dotenv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errno == ENOENT;
  std::string line;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = trim(t.substr(7));
    size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(t.substr(0, eq));
    std::string raw = trim(t.substr(eq + 1));
    std::string value;
    if (!raw.empty() && (raw[0] == '"' || raw[0] == '\'')) {
      char q = raw[0];
      size_t i = 1;
      for (; i < raw.size() && raw[i] != q; ++i) {
        if (q == '"' && raw[i] == '\\' && i + 1 < raw.size()) {
          char n = raw[++i];
          value += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
        } else {
          value += raw[i];
        }
      }
    } else {
      value = strip_comment(raw);
    }
    if (key.empty()) continue;
    ::setenv(key.c_str(), value.c_str(), 0);  // existing variables win
  }
  return true;
}

namespace {

load_result load_text_impl(std::string_view text, file_format format, const load_options& options) {
  load_result r;
  if (!options.dotenv_path_.empty() && !load_dotenv(options.dotenv_path_))
    r.warnings_.push_back("cannot read " + options.dotenv_path_);
  json::value root;
  std::string err;
  if (!detail::parse_tree(text, format, root, err)) {
    r.error_ = err;
    return r;
  }
  r.file_found_ = true;
  finish(std::move(root), options, r);
  return r;
}

load_result load_impl(const load_options& options) {
  load_result r;
  if (!options.dotenv_path_.empty() && !load_dotenv(options.dotenv_path_))
    r.warnings_.push_back("cannot read " + options.dotenv_path_);

  json::value root = json::object{};
  if (!options.path_.empty()) {
    auto fmt = format_from_path(options.path_);
    std::ifstream in(options.path_, std::ios::binary);
    if (!in) {
      if (errno == ENOENT && !options.require_file_) {
        r.warnings_.push_back("config file not found (" + options.path_ +
                              "), continue using environment and flag options");
      } else if (errno == ENOENT) {
        r.error_ = "config file not found: " + options.path_;
        return r;
      } else {
        r.error_ = "cannot read config file " + options.path_ + ": " + std::strerror(errno);
        return r;
      }
    } else if (!fmt) {
      r.error_ = "unsupported config file extension: " + options.path_ +
                 " (use .json, .yaml, .yml or .toml)";
      return r;
    } else {
      std::ostringstream buf;
      buf << in.rdbuf();
      std::string err;
      if (!detail::parse_tree(buf.str(), *fmt, root, err)) {
        r.error_ = options.path_ + ": " + err;
        return r;
      }
      r.file_found_ = true;
    }
  }
  finish(std::move(root), options, r);
  return r;
}

// Keeps the no-throw contract even for allocation failures or library surprises.
template <class F>
load_result guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    load_result r;
    r.error_ = std::string("internal error while loading config: ") + e.what();
    return r;
  }
}

}  // namespace

load_result load_text(std::string_view text, file_format format, const load_options& options) {
  return guarded([&] { return load_text_impl(text, format, options); });
}

load_result load(const load_options& options) {
  return guarded([&] { return load_impl(options); });
}

std::string env_name_for(std::string_view key_path) {
  std::string out(k_env_prefix);
  for (char c : key_path)
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

namespace {

// Text form of a tree value in env syntax.
std::string env_text(const leaf& l, const json::value& v) {
  if (v.is_null()) return "";
  if (l.kind == leaf_kind::string_list && v.is_array()) {
    std::string out;
    for (const auto& x : v.get_array()) {
      if (!out.empty()) out += ' ';
      out += x.is_string() ? std::string(x.get_string()) : json::serialize(x);
    }
    return out;
  }
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

void list_leaves(const std::vector<leaf>& leaves, const json::object& root,
                 const std::string& prefix, bool top,
                 std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& l : leaves) {
    if (!top && l.path.size() == 1 && l.path[0] == "name") continue;
    const json::value* v = find_path(root, l.path);
    json::value value = v ? *v : json::value(nullptr);
    std::string name = prefix + upper(join(l.path, "_"));
    if (top && l.kind == leaf_kind::object_array && is_named_array(l.path) && value.is_array()) {
      std::string names;
      for (const auto& item : value.get_array()) {
        const json::object* o = item.if_object();
        const json::value* n = o ? o->if_contains("name") : nullptr;
        if (n == nullptr || !n->is_string()) continue;
        if (!names.empty()) names += ' ';
        names += n->get_string();
        list_leaves(*l.element_leaves, *o, name + "_" + item_env_segment(n->get_string()) + "_",
                    false, out);
      }
      out.emplace_back(name, names);
      continue;
    }
    out.emplace_back(name, env_text(l, value));
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> env_listing(const config& c) {
  json::value tree = detail::encode_config(c);
  std::vector<std::pair<std::string, std::string>> out;
  list_leaves(detail::config_leaves(), tree.get_object(), std::string(k_env_prefix), true, out);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace gyre::config
