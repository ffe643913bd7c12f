// static_files implementation; see static_files.hpp.
#include "web/static_files.hpp"

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "web/content_type.hpp"

namespace gyre::web {

namespace fs = std::filesystem;

bool safe_relative_path(std::string_view rel) {
  if (rel.empty() || rel[0] != '/') return false;
  if (rel.find('\0') != std::string_view::npos || rel.find('\\') != std::string_view::npos)
    return false;
  size_t i = 1;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    std::string_view seg = rel.substr(i, j - i);
    if (seg.empty() || seg == "." || seg == "..") return false;
    i = j + 1;
  }
  return true;
}

// One thread that reads files for this handler, a bounded queue of jobs.
struct static_files::disk_reader {
  static constexpr size_t max_queued = 256;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
  std::thread thread;

  disk_reader() : thread([this] { run(); }) {}
  ~disk_reader() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_one();
    thread.join();
  }
  bool post(std::function<void()> job) {
    {
      std::lock_guard lock(mu);
      if (jobs.size() >= max_queued) return false;
      jobs.push_back(std::move(job));
    }
    cv.notify_one();
    return true;
  }
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return stopping || !jobs.empty(); });
        if (jobs.empty()) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      job();
    }
  }
};

static_files::static_files(static_files_options opts) : opts_(std::move(opts)) {
  if (!opts_.directory.empty()) disk_ = std::make_unique<disk_reader>();
}

static_files::~static_files() = default;

void static_files::handle(http_request req, http_reply reply) {
  if (req.method != "GET" && req.method != "HEAD") {
    http_response r = http_response::text(405, "Method Not Allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return reply(std::move(r));
  }
  std::string_view path = req.path;
  if (!path.starts_with(opts_.mount))
    return reply(http_response::text(404, "404 page not found\n"));
  std::string rel(path.substr(opts_.mount.size()));
  if (rel.empty()) {
    http_response r;
    r.status = 301;
    r.headers.emplace_back("Location", opts_.mount + "/");
    return reply(std::move(r));
  }
  if (rel.back() == '/') rel += "index.html";
  if (!safe_relative_path(rel)) return reply(http_response::text(404, "404 page not found\n"));
  const bool head = req.method == "HEAD";
  if (disk_) return serve_disk(std::move(rel), head, std::move(reply));
  const asset* a = opts_.bundle ? opts_.bundle->find(rel) : nullptr;
  if (!a) return reply(http_response::text(404, "404 page not found\n"));
  http_response r;
  r.headers.emplace_back("ETag", std::string(a->etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  for (const auto& h : opts_.headers) r.headers.push_back(h);
  if (req.header("if-none-match") == a->etag) {
    r.status = 304;
    return reply(std::move(r));
  }
  r.headers.emplace_back("Content-Type", std::string(a->content_type));
  if (!head) r.body = std::string(a->bytes);
  reply(std::move(r));
}

void static_files::serve_disk(std::string rel, bool head, http_reply reply) {
  auto job = [this, rel, head, reply]() {
    std::error_code ec;
    fs::path root = fs::canonical(opts_.directory, ec);
    if (ec) return reply(http_response::text(404, "404 page not found\n"));
    fs::path file = fs::canonical(root / fs::path(rel.substr(1)), ec);
    auto rs = root.native() + "/";
    if (ec || !file.native().starts_with(rs) || !fs::is_regular_file(file, ec))
      return reply(http_response::text(404, "404 page not found\n"));
    auto size = fs::file_size(file, ec);
    if (ec || size > max_disk_file_size)
      return reply(http_response::text(404, "404 page not found\n"));
    std::ifstream in(file, std::ios::binary);
    std::string body(size, '\0');
    if (!in.read(body.data(), static_cast<std::streamsize>(size)))
      return reply(http_response::text(404, "404 page not found\n"));
    http_response r;
    r.headers.emplace_back("Content-Type", std::string(content_type_for(rel)));
    r.headers.emplace_back("Cache-Control", "no-cache");
    for (const auto& h : opts_.headers) r.headers.push_back(h);
    if (!head) r.body = std::move(body);
    reply(std::move(r));
  };
  if (!disk_->post(std::move(job))) reply(http_response::text(503, "too many file requests\n"));
}

}  // namespace gyre::web
