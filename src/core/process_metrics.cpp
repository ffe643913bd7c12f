// Process metrics from /proc; see process_metrics.hpp.
#include "core/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gyre::metrics {

namespace {

std::optional<uint64_t> to_u64(std::string_view s) {
  uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string read_all(const char* path) {
  std::ifstream f(path);
  if (!f) return {};
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::optional<uint64_t> count_open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return std::nullopt;
  uint64_t n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n > 0 ? n - 1 : 0;  // the descriptor opendir holds
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text) {
  size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // Fields after the command: state is field 3; we want 14, 15, 22, 23, 24.
  std::vector<std::string_view> f;
  size_t i = close + 1;
  while (i < text.size() && f.size() < 22) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n') ++j;
    if (j > i) f.push_back(text.substr(i, j - i));
    i = j;
  }
  if (f.size() < 22) return std::nullopt;  // f[0] is field 3
  auto at = [&](size_t field) { return to_u64(f[field - 3]); };
  auto ut = at(14), st = at(15), start = at(22), vs = at(23), rss = at(24);
  if (!ut || !st || !start || !vs || !rss) return std::nullopt;
  return proc_stat{*ut, *st, *start, *vs, *rss};
}

std::optional<uint64_t> parse_boot_time(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.substr(0, 6) == "btime ") return to_u64(line.substr(6));
    pos = end + 1;
  }
  return std::nullopt;
}

void add_process_collector(registry& r) {
  r.add_collector([](std::vector<collected_family>& out) {
    auto one = [&](const char* name, const char* help, kind k, double v) {
      collected_family f{name, help, k, {}};
      f.samples.push_back({"", {}, v});
      out.push_back(std::move(f));
    };
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    if (auto s = parse_proc_stat(read_all("/proc/self/stat")); s && ticks > 0) {
      one("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
          kind::counter, static_cast<double>(s->utime_ticks + s->stime_ticks) / ticks);
      one("process_resident_memory_bytes", "Resident memory size in bytes.", kind::gauge,
          static_cast<double>(s->rss_pages) * page);
      one("process_virtual_memory_bytes", "Virtual memory size in bytes.", kind::gauge,
          static_cast<double>(s->vsize_bytes));
      if (auto boot = parse_boot_time(read_all("/proc/stat")))
        one("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            kind::gauge, static_cast<double>(*boot) + static_cast<double>(s->start_ticks) / ticks);
    }
    if (auto n = count_open_fds())
      one("process_open_fds", "Number of open file descriptors.", kind::gauge,
          static_cast<double>(*n));
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
      one("process_max_fds", "Maximum number of open file descriptors.", kind::gauge,
          rl.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(rl.rlim_cur));
  });
}

}  // namespace gyre::metrics
