// Logging set-up and the two line formats; see log.hpp.
#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "core/json_writer.hpp"

namespace gyre::log {

namespace {

// The fields of the line being written by this thread (the default logger is synchronous,
// so its formatter runs on the thread that called write()).
thread_local const std::vector<field>* current_fields = nullptr;

std::string_view level_name(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "fatal";
    default:
      return "none";
  }
}

// RFC 3339 in UTC with milliseconds (`2026-01-02T03:04:05.678Z`, JSON lines), or local
// time as `2026-01-02 04:04:05.678` (text lines).
std::string timestamp(std::chrono::system_clock::time_point t, bool utc) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (utc)
    ::gmtime_r(&secs, &tm);
  else
    ::localtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}.{:03}{}", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, utc ? 'T' : ' ', tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ms % 1000, utc ? "Z" : "");
}

const std::vector<field>& no_fields() {
  static const std::vector<field> none;
  return none;
}

// Formats every line of the logger in one of the two formats.
class line_formatter final : public spdlog::formatter {
 public:
  explicit line_formatter(bool json) : json_(json) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view message(msg.payload.data(), msg.payload.size());
    const auto& fields = current_fields ? *current_fields : no_fields();
    std::string line = json_ ? json_line(msg.level, msg.time, message, fields)
                             : text_line(msg.level, msg.time, message, fields);
    if (!json_) {
      // The coloured part of a terminal line: the level name inside the brackets.
      size_t open = line.find('[');
      msg.color_range_start = open + 1;
      msg.color_range_end = line.find(']', open);
    }
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<line_formatter>(json_);
  }

 private:
  const bool json_;
};

}  // namespace

field::field(std::string_view k, std::string_view v) : key(k) {
  json_writer(json).string(v);
}

bool parse_level(std::string_view level, spdlog::level::level_enum& lvl) {
  if (level == "none")
    lvl = spdlog::level::off;
  else if (level == "trace")
    lvl = spdlog::level::trace;
  else if (level == "debug")
    lvl = spdlog::level::debug;
  else if (level == "info" || level.empty())
    lvl = spdlog::level::info;
  else if (level == "warn")
    lvl = spdlog::level::warn;
  else if (level == "error")
    lvl = spdlog::level::err;
  else
    return false;
  return true;
}

bool parse_format(std::string_view name, format& out) {
  if (name == "auto" || name.empty())
    out = format::auto_detect;
  else if (name == "text")
    out = format::text;
  else if (name == "json")
    out = format::json;
  else
    return false;
  return true;
}

bool setup(std::string_view level, std::string_view file, format f) {
  spdlog::level::level_enum lvl;
  if (!parse_level(level, lvl)) return false;
  bool json = f == format::json ||
              (f == format::auto_detect && (!file.empty() || !::isatty(STDERR_FILENO)));
  spdlog::sink_ptr sink;
  if (!file.empty())
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(std::string(file));
  else if (json)
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  else
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("gyre", std::move(sink));
  logger->set_formatter(std::make_unique<line_formatter>(json));
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return true;
}

bool set_level(std::string_view level) {
  spdlog::level::level_enum lvl;
  if (!parse_level(level, lvl)) return false;
  // The logger's level is an atomic: safe while other threads log.
  spdlog::default_logger_raw()->set_level(lvl);
  return true;
}

void write(spdlog::level::level_enum level, std::string_view message,
           std::initializer_list<field> fields) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  std::vector<field> list(fields);
  current_fields = &list;
  logger->log(level, spdlog::string_view_t(message.data(), message.size()));
  current_fields = nullptr;
}

std::string json_line(spdlog::level::level_enum level, std::chrono::system_clock::time_point t,
                      std::string_view message, const std::vector<field>& fields) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.member("level", level_name(level));
  w.member("time", timestamp(t, true));
  w.member("message", message);
  // Fields never replace the three above (a JSON object with a repeated name is ambiguous).
  for (const auto& f : fields)
    if (f.key != "level" && f.key != "time" && f.key != "message") w.member_raw(f.key, f.json);
  w.end_object();
  out += '\n';
  return out;
}

std::string text_line(spdlog::level::level_enum level, std::chrono::system_clock::time_point t,
                      std::string_view message, const std::vector<field>& fields) {
  std::string out = timestamp(t, false);
  out += " [";
  out += level_name(level);
  out += "] ";
  out += message;
  for (const auto& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    out += f.json;
  }
  out += '\n';
  return out;
}

bool limiter::admit(int64_t now_s, uint64_t& suppressed) {
  int64_t window = window_.load(std::memory_order_relaxed);
  if (window != now_s && window_.compare_exchange_strong(window, now_s, std::memory_order_relaxed))
    used_.store(0, std::memory_order_relaxed);
  if (used_.fetch_add(1, std::memory_order_relaxed) < per_second_) {
    suppressed = dropped_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool limiter::admit(uint64_t& suppressed) {
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  return admit(std::chrono::duration_cast<std::chrono::seconds>(now).count(), suppressed);
}

}  // namespace gyre::log
