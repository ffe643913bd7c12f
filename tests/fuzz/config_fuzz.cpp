// libFuzzer target for the config loader (config/loader.hpp): JSON, YAML or TOML text →
// config tree → config structs → validation. A config file is trusted input, but loading
// one must still never crash or hang (`checkconfig` runs on whatever file it is given, and
// YAML and TOML parsers recurse). The input is [formats][text]: bits 0-1 of the first byte
// pick the input format, bits 2-3 the format of the round trip. The environment is not
// read (no CENTRIFUGO_* overlay, no .env).
// Oracles beyond "no crash, no sanitizer report, no timeout":
//   - validate() runs on every config that loads;
//   - round trip (generate.hpp's contract): the loaded config, written by dump_config in
//     any format, loads again without unknown keys to the same config.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/generate.hpp"
#include "config/loader.hpp"
#include "config/validate.hpp"

using namespace gyre::config;

namespace {

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

load_options text_only() {
  load_options o;
  o.path_.clear();
  o.dotenv_path_.clear();
  o.use_env_ = false;
  return o;
}

file_format format_of(unsigned bits) {
  static constexpr file_format formats[] = {file_format::json, file_format::yaml, file_format::toml,
                                            file_format::yaml};
  return formats[bits & 3];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const file_format in_format = format_of(data[0]);
  const file_format out_format = format_of(data[0] >> 2);
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  const load_result r = load_text(text, in_format, text_only());
  if (!r.ok()) return 0;
  (void)validate(r.config_);

  const std::string dumped = dump_config(r.config_, out_format);
  const load_result again = load_text(dumped, out_format, text_only());
  if (!again.ok() || !again.unknown_keys_.empty()) {
    std::fprintf(stderr, "dump does not load back: %s\n%s\n", again.error_.c_str(), dumped.c_str());
  }
  CHECK(again.ok());
  CHECK(again.unknown_keys_.empty());
  const std::string reference = dump_config(r.config_, file_format::json);
  const std::string round_trip = dump_config(again.config_, file_format::json);
  if (round_trip != reference) {
    std::fprintf(stderr, "round trip differs:\n%s\n---\n%s\n", reference.c_str(),
                 round_trip.c_str());
  }
  CHECK(round_trip == reference);
  return 0;
}
