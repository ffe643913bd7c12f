// genconfig / defaultconfig rendering; see generate.hpp.
#include "config/generate.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "config/detail/mapping.hpp"
#include "config/detail/tree.hpp"
#include "core/base64.hpp"
#include "core/random.hpp"

namespace gyre::config {

namespace json = boost::json;

namespace {

std::string secret(size_t bytes) {
  return base64url_encode(secure_random_bytes(bytes));
}

}  // namespace

std::string generate_minimal_config(file_format format) {
  json::object root;
  root["client"] = json::object{
      {"token", json::object{{"hmac_secret_key", secret(64)}}},
      {"allowed_origins", json::array{}},
  };
  root["admin"] = json::object{
      {"enabled", false},
      {"password", secret(16)},
      {"secret", secret(64)},
  };
  root["http_api"] = json::object{{"key", secret(64)}};
  return detail::render_tree(root, format);
}

std::string dump_config(const config& c, file_format format) {
  json::value tree = detail::encode_config(c);
  if (auto* broker = tree.get_object()["broker"].if_object()) broker->erase("redisnats");
  return detail::render_tree(tree, format);
}

std::string write_new_config_file(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return "file " + path + " already exists, refusing to overwrite";
    return "cannot create " + path + ": " + std::strerror(errno);
  }
  ::fchmod(fd, 0600);  // exact mode regardless of umask
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = "cannot write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return err;
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return "cannot write " + path + ": " + std::strerror(errno);
  return {};
}

std::string generate_config_file(const std::string& path) {
  auto fmt = format_from_path(path);
  if (!fmt)
    return "unsupported config file extension: " + path + " (use .json, .yaml, .yml or .toml)";
  std::string content;
  try {
    content = generate_minimal_config(*fmt);
  } catch (const std::exception& e) {
    return std::string("cannot generate secrets: ") + e.what();
  }
  return write_new_config_file(path, content);
}

}  // namespace gyre::config
