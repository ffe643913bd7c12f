// proc_stats: what gyre-bench reads about processes and the machine from /proc:
// CPU time (the sum of every thread's run time from /proc/PID/task/*/schedstat, in
// nanoseconds; /proc/PID/stat ticks as a fallback), resident memory (VmRSS) and
// proportional set size (Pss, from smaps_rollup: shared pages counted once across the
// processes that share them, which matters for nginx's master and workers), the kernel's
// TCP buffer memory, and a description of the machine.
// Threading: pure functions over /proc; thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gyre::bench {

struct proc_sample {
  uint64_t cpu_ns = 0;  // summed over the processes
  uint64_t rss_kb = 0;
  uint64_t pss_kb = 0;
  bool ok = false;  // every process could be read
};

uint64_t process_cpu_ns(pid_t pid);  // 0 if unreadable
uint64_t process_rss_kb(pid_t pid);
uint64_t process_pss_kb(pid_t pid);
uint64_t process_open_files(pid_t pid);  // entries of /proc/PID/fd; 0 if unreadable
proc_sample sample_processes(const std::vector<pid_t>& pids);

// Pages of memory the kernel's TCP stack holds ("TCP: ... mem N" in /proc/net/sockstat).
uint64_t tcp_mem_pages();

struct machine_info {
  unsigned cpus = 0;
  uint64_t mem_total_kb = 0;
  std::string kernel;
  std::string cpu_model;
};
machine_info describe_machine();
// The three load averages, "1.23 0.98 0.50".
std::string load_average();

uint64_t now_ns();  // steady clock
inline uint64_t now_us() {
  return now_ns() / 1000;
}

}  // namespace gyre::bench
