// Helpers for the config tests: scoped environment variables, temporary directories,
// loader options that ignore the machine's environment, and readable failure output.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/generate.hpp"
#include "config/loader.hpp"

namespace gyre::config {

// Failure messages print a config as its JSON dump instead of raw bytes.
inline void PrintTo(const config& c, std::ostream* os) {
  *os << dump_config(c);
}

namespace test {

// Sets (or unsets, with nullopt) an environment variable for the scope's lifetime.
class scoped_env {
 public:
  scoped_env(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value)
      ::setenv(name_.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ~scoped_env() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A fresh directory under the system temp dir, removed with its contents.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gyre-config-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(file(name)) << content;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

// Options for load_text in tests: no .env, environment applied.
inline load_options text_options() {
  load_options o;
  o.path_.clear();
  o.dotenv_path_.clear();
  return o;
}

inline load_result load_json(const std::string& text, load_options o = text_options()) {
  return load_text(text, file_format::json, o);
}

// True if some entry equals `s`.
inline bool contains(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

}  // namespace test
}  // namespace gyre::config
