// JWKS fetch over HTTP with libcurl; see jwks_http.hpp.
#include "app/jwks_http.hpp"

#include <curl/curl.h>

#include <string>

namespace gyre {

namespace {

struct body_sink {
  std::string body;
  size_t max = 0;
  bool too_big = false;
};

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<body_sink*>(user);
  const size_t len = size * n;
  if (s->body.size() + len > s->max) {
    s->too_big = true;
    return 0;  // aborts the transfer
  }
  s->body.append(data, len);
  return len;
}

}  // namespace

auth::jwks_fetch make_jwks_http_fetch(std::chrono::milliseconds timeout, size_t max_body) {
  // curl_global_init is not thread-safe: done once, here, before any fetch thread runs.
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return [timeout, max_body](const std::string& url) {
    auth::jwks_fetch_result r;
    if (!curl_ready) {
      r.error = "libcurl failed to initialise";
      return r;
    }
    CURL* curl = curl_easy_init();
    if (!curl) {
      r.error = "libcurl failed to initialise";
      return r;
    }
    body_sink sink{{}, max_body, false};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "gyre-jwks");
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (sink.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
      r.error = "response larger than " + std::to_string(max_body) + " bytes";
    } else if (rc != CURLE_OK) {
      r.error = curl_easy_strerror(rc);
    } else if (status != 200) {
      r.error = "HTTP status " + std::to_string(status);
    } else {
      r.ok = true;
      r.body = std::move(sink.body);
    }
    return r;
  };
}

}  // namespace gyre
