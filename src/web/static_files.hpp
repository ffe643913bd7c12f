// static_files: serves web files under a mount path, from an embedded asset_bundle or
// (admin.web_path) from a directory on disk. Used by the admin UI and by Swagger UI.
//
// What must hold:
//  * GET and HEAD only (405 otherwise); "{mount}" redirects to "{mount}/"; a path that
//    ends with '/' means its index.html; unknown files are 404.
//  * From disk, no path leaves the directory (".." segments, backslashes and NUL bytes are
//    refused; symbolic links are resolved and checked), only regular files up to
//    max_disk_file_size are read, and they are read on a thread of this object's own,
//    never on the connection's thread (an event loop must not wait for a disk).
//  * Embedded files carry a strong ETag: If-None-Match gets 304 without the bytes.
//
// Threading: serve() may be called from any thread; the reply runs on the caller's thread
// (embedded) or on the disk thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transport/http_types.hpp"
#include "web/asset_bundle.hpp"

namespace gyre::web {

struct static_files_options {
  std::string mount;                     // "" (root) or "/swagger": no trailing '/'
  const asset_bundle* bundle = nullptr;  // the embedded files (used when directory is empty)
  std::string directory;                 // admin.web_path: serve this directory instead
  std::vector<std::pair<std::string, std::string>> headers;  // added to every file served
};

inline constexpr size_t max_disk_file_size = 64 * 1024 * 1024;

class static_files final : public http_handler {
 public:
  explicit static_files(static_files_options opts);
  ~static_files() override;

  // Serves the file named by `req.path` (which starts with the mount path).
  void handle(http_request req, http_reply reply) override;

  struct disk_reader;

 private:
  void serve_disk(std::string rel, bool head, http_reply reply);

  static_files_options opts_;
  std::unique_ptr<disk_reader> disk_;
};

// Whether `rel` ("/a/b.js") is a safe relative file path: no "." or ".." segment, no
// backslash, no NUL, no empty segment.
bool safe_relative_path(std::string_view rel);

}  // namespace gyre::web
