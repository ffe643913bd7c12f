// content_type: the Content-Type of a web file by its extension. One table, used both by
// the asset embedder at build time and by the static file handler for admin.web_path.
#pragma once

#include <string_view>

namespace gyre::web {

// "application/octet-stream" for an unknown extension.
std::string_view content_type_for(std::string_view path);

}  // namespace gyre::web
