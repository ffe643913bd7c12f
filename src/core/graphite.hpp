// graphite: turns the metric registry's Prometheus text exposition into Graphite
// plaintext lines (`<path> <value> <unix seconds>\n`), named the way Centrifugo names
// its Graphite series (options `graphite.prefix`, `graphite.tags`):
//
//   <prefix>.<node name>.<namespace>.<subsystem>.<name>[.<label value>...]     (tags off)
//   <prefix>.<node name>.<namespace>.<subsystem>.<name>[;<label>=<value>...]   (tags on)
//
// where `centrifugo_node_num_clients` splits into namespace `centrifugo`, subsystem `node`
// and name `num_clients` (names under `centrifugo_` and `gyre_`; other names, such as the
// `process_*` series, are kept whole). A trailing dot of the prefix is dropped. Every
// sample of the exposition becomes one line: histogram buckets keep their `_bucket`,
// `_sum`, `_count` suffix and their `le` label, summaries their `quantile`. Path
// components are cleaned: dots, whitespace, `;` and non-ASCII bytes become `_`, an empty
// label value becomes `_` (tags: an empty value drops the tag, which Graphite refuses).
// Samples whose value is NaN or infinite are left out (Graphite cannot store them).
//
// Pure functions, no I/O; the exporter (graphite_exporter.hpp) sends what they produce.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gyre::graphite {

struct naming {
  std::string prefix = "centrifugo";  // graphite.prefix
  std::string node;                   // node name (node.name, or <hostname>_<port>)
  bool tags = false;                  // graphite.tags
};

// One cleaned path component (see above).
std::string path_component(std::string_view s);

// The lines for every sample of `exposition` (Prometheus text format 0.0.4) at
// `unix_seconds`.
std::string lines(std::string_view exposition, const naming& n, int64_t unix_seconds);

}  // namespace gyre::graphite
