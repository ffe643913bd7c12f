// process_metrics: the standard process_* series (CPU time, memory, descriptors, start
// time) that Prometheus client libraries export, read from /proc at scrape time.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/metrics.hpp"

namespace gyre::metrics {

// What /proc/<pid>/stat says, in its own units.
struct proc_stat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  // since boot
  uint64_t vsize_bytes = 0;
  uint64_t rss_pages = 0;
};

// Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses:
// fields are counted from its last ')'). nullopt when the text is not of that shape.
std::optional<proc_stat> parse_proc_stat(std::string_view text);
// The boot time (seconds since the epoch) from the text of /proc/stat ("btime N").
std::optional<uint64_t> parse_boot_time(std::string_view text);

// Registers a collector for process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds of this process. A series whose source cannot be read is
// left out of that scrape.
void add_process_collector(registry& r);

}  // namespace gyre::metrics
