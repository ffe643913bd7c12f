// asset_bundle: web files compiled into the binary (the admin UI, Swagger UI). A bundle is
// a table of {path, content type, ETag, bytes} produced at build time by
// gyre_embed_assets() (cmake/EmbedAssets.cmake); the generated source of bundle <name>
// defines gyre::web::embedded::<name>(), declared in the generated header
// "web/embedded/<name>.hpp". This header is light on purpose: the bytes never pass
// through a widely included header.
#pragma once

#include <cstddef>
#include <string_view>

namespace gyre::web {

struct asset {
  std::string_view path;          // "/index.html": relative to the bundle's root, with '/'
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view etag;          // quoted strong validator, e.g. "\"5f1c...\""
  std::string_view bytes;
};

struct asset_bundle {
  const asset* files = nullptr;  // sorted by path
  size_t size = 0;

  // The file at `path` ("/app.js"), nullptr when absent.
  const asset* find(std::string_view path) const;
};

}  // namespace gyre::web
