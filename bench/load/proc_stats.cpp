// proc_stats: /proc readers; see proc_stats.hpp.
#include "load/proc_stats.hpp"

#include <dirent.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace gyre::bench {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The number after "key" (e.g. "VmRSS:") in a /proc text file; 0 if absent.
uint64_t field_after(const std::string& text, const char* key) {
  size_t i = text.find(key);
  if (i == std::string::npos) return 0;
  return std::strtoull(text.c_str() + i + std::strlen(key), nullptr, 10);
}

uint64_t stat_cpu_ns(pid_t pid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t rp = s.rfind(')');
  if (rp == std::string::npos) return 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  std::istringstream in(s.substr(rp + 2));
  std::string tok;
  uint64_t ut = 0, st = 0;
  for (int field = 3; field <= 15 && in >> tok; ++field) {
    if (field == 14) ut = std::strtoull(tok.c_str(), nullptr, 10);
    if (field == 15) st = std::strtoull(tok.c_str(), nullptr, 10);
  }
  long hz = sysconf(_SC_CLK_TCK);
  return (ut + st) * (1'000'000'000ull / static_cast<uint64_t>(hz > 0 ? hz : 100));
}

}  // namespace

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t process_cpu_ns(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  uint64_t sum = 0;
  bool any = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string s = read_file(dir + "/" + e->d_name + "/schedstat");
    if (s.empty()) continue;
    sum += std::strtoull(s.c_str(), nullptr, 10);
    any = true;
  }
  closedir(d);
  // Threads that already exited are missing from schedstat; stat covers them (10 ms ticks).
  if (!any) return stat_cpu_ns(pid);
  return sum;
}

uint64_t process_rss_kb(pid_t pid) {
  return field_after(read_file("/proc/" + std::to_string(pid) + "/status"), "VmRSS:");
}

uint64_t process_pss_kb(pid_t pid) {
  return field_after(read_file("/proc/" + std::to_string(pid) + "/smaps_rollup"), "\nPss:");
}

uint64_t process_open_files(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return 0;
  uint64_t n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

proc_sample sample_processes(const std::vector<pid_t>& pids) {
  proc_sample s;
  s.ok = !pids.empty();
  for (pid_t p : pids) {
    uint64_t rss = process_rss_kb(p);
    if (rss == 0) s.ok = false;
    s.rss_kb += rss;
    s.pss_kb += process_pss_kb(p);
    s.cpu_ns += process_cpu_ns(p);
  }
  return s;
}

uint64_t tcp_mem_pages() {
  std::string s = read_file("/proc/net/sockstat");
  size_t t = s.find("TCP:");
  if (t == std::string::npos) return 0;
  size_t m = s.find(" mem ", t);
  size_t eol = s.find('\n', t);
  if (m == std::string::npos || m > eol) return 0;
  return std::strtoull(s.c_str() + m + 5, nullptr, 10);
}

machine_info describe_machine() {
  machine_info m;
  m.cpus = std::thread::hardware_concurrency();
  m.mem_total_kb = field_after(read_file("/proc/meminfo"), "MemTotal:");
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  std::string cpu = read_file("/proc/cpuinfo");
  if (size_t i = cpu.find("model name"); i != std::string::npos) {
    size_t c = cpu.find(':', i), e = cpu.find('\n', i);
    if (c != std::string::npos && e != std::string::npos && c < e)
      m.cpu_model = cpu.substr(c + 2, e - c - 2);
  }
  return m;
}

std::string load_average() {
  std::string s = read_file("/proc/loadavg");
  std::istringstream in(s);
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace gyre::bench
