// The admin UI proxied to a development server; see admin_web_proxy.hpp.
#include "app/admin_web_proxy.hpp"

#include <curl/curl.h>

#include <cctype>

namespace gyre {

namespace {

struct sink {
  std::string body;
  std::string content_type;
  size_t max = 0;
  bool too_big = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<sink*>(user);
  const size_t len = size * n;
  if (s->body.size() + len > s->max) {
    s->too_big = true;
    return 0;
  }
  s->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<sink*>(user);
  std::string_view line(data, size * n);
  constexpr std::string_view name = "content-type:";
  if (line.size() > name.size()) {
    bool match = true;
    for (size_t i = 0; i < name.size() && match; ++i)
      match = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
    if (match) {
      std::string_view v = line.substr(name.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
        v.remove_suffix(1);
      s->content_type.assign(v.substr(0, 256));
    }
  }
  return size * n;
}

}  // namespace

bool admin_web_proxy::valid_base(const std::string& a) {
  size_t host = a.starts_with("http://") ? 7 : a.starts_with("https://") ? 8 : 0;
  if (host == 0 || host >= a.size() || a[host] == '/') return false;
  for (char c : a)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  return true;
}

admin_web_proxy::admin_web_proxy(std::string base, std::chrono::milliseconds timeout,
                                 size_t max_body, size_t max_pending)
    : base_(std::move(base)), timeout_(timeout), max_body_(max_body), max_pending_(max_pending) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  thread_ = std::thread([this] { run(); });
}

admin_web_proxy::~admin_web_proxy() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();  // at most one request's timeout (shutdown, on the main thread)
}

void admin_web_proxy::get(std::string target, http_reply reply) {
  // The target stays a path of the dev server: no control characters or spaces, and it
  // starts with '/', so it cannot end the host part.
  bool ok = !target.empty() && target.front() == '/' && target.size() <= 8192;
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) ok = false;
  if (!ok) return reply(http_response::text(400, "Bad Request\n"));
  {
    std::lock_guard lock(mu_);
    if (!stop_ && queue_.size() < max_pending_) {
      queue_.emplace_back(std::move(target), std::move(reply));
      cv_.notify_one();
      return;
    }
  }
  reply(http_response::text(503, "admin.web_proxy_address: too many requests waiting\n"));
}

void admin_web_proxy::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) {
      auto rest = std::move(queue_);
      lock.unlock();
      for (auto& [t, r] : rest) r(http_response::text(503, "shutting down\n"));
      return;
    }
    auto [target, reply] = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    reply(fetch(target));
    lock.lock();
  }
}

http_response admin_web_proxy::fetch(const std::string& target) {
  CURL* curl = curl_easy_init();
  if (!curl) return http_response::text(502, "Bad Gateway: libcurl failed\n");
  sink s;
  s.max = max_body_;
  const std::string url = base_ + target;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &s);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (s.too_big)
    return http_response::text(
        502, "Bad Gateway: the response is larger than " + std::to_string(max_body_) + " bytes\n");
  if (rc != CURLE_OK)
    return http_response::text(502, std::string("Bad Gateway: ") + curl_easy_strerror(rc) + "\n");
  http_response r;
  r.status = status >= 100 && status <= 599 ? static_cast<unsigned>(status) : 502;
  if (!s.content_type.empty()) r.headers.emplace_back("Content-Type", s.content_type);
  r.body = std::move(s.body);
  return r;
}

}  // namespace gyre
