// asset_bundle lookup; see asset_bundle.hpp.
#include "web/asset_bundle.hpp"

#include <algorithm>

namespace gyre::web {

const asset* asset_bundle::find(std::string_view path) const {
  const asset* end = files + size;
  const asset* it = std::lower_bound(files, end, path,
                                     [](const asset& a, std::string_view p) { return a.path < p; });
  return it != end && it->path == path ? it : nullptr;
}

}  // namespace gyre::web
