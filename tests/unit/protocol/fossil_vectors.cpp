// fossil_vectors: writes (source, target, delta) cases produced by Gyre's fossil encoder
// to a JSON file, for fossil_js_check/check.js to apply with the centrifuge JS SDK's own
// decoder. Usage: fossil_vectors <out.json>
//
// Each case: name, alignment ("bytes"/"utf8"), base64 `source`, `target`, `delta`, and
// `json` (target is a JSON document, so the SDK's JSON codec path applies). When the
// patch is valid UTF-8, `delta_text` holds it as a JSON string exactly as Gyre's
// json_writer escapes it on the wire; otherwise `delta_text_lossy` holds what json_writer
// would make of it (invalid bytes -> U+FFFD), which the SDK must reject: the hazard that
// json_delta_sendable guards against.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "core/utf8.hpp"
#include "protocol/fossil.hpp"

namespace {

using gyre::protocol::delta_alignment;

struct vector_case {
  std::string name;
  std::string source;
  std::string target;
  bool json = false;
};

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

std::string mutate(std::mt19937& rng, std::string s, int edits) {
  for (int e = 0; e < edits; ++e) {
    const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
    const size_t run = 1 + rng() % 40;
    switch (rng() % 3) {
      case 0:
        s.replace(at, run, random_bytes(rng, run));
        break;
      case 1:
        s.insert(at, random_bytes(rng, run));
        break;
      default:
        s.erase(at, run);
        break;
    }
  }
  return s;
}

std::string json_doc(int items, int counter, const std::vector<std::string>& words,
                     std::mt19937& rng) {
  std::string s = "{\"counter\":" + std::to_string(counter) + ",\"items\":[";
  for (int i = 0; i < items; ++i) {
    if (i) s += ',';
    s += "{\"id\":" + std::to_string(i) + ",\"text\":\"";
    for (int w = 0; w < 5; ++w) s += words[rng() % words.size()] + (w < 4 ? " " : "");
    s += "\",\"price\":" + std::to_string(i % 50) + "." + std::to_string(i % 10) + "}";
  }
  return s + "]}";
}

// Replaces the text of one item (chosen by `rng`) with new words.
std::string edit_text(std::string doc, const std::vector<std::string>& words, std::mt19937& rng) {
  const size_t from = doc.find("\"text\":\"", rng() % doc.size());
  if (from == std::string::npos) return doc + " ";
  const size_t start = from + 8;
  const size_t end = doc.find("\",\"price\"", start);  // (texts may hold escaped quotes)
  std::string text;
  for (int w = 0; w < 1 + static_cast<int>(rng() % 4); ++w) {
    text += (w ? " " : "") + words[rng() % words.size()];
  }
  doc.replace(start, end - start, text);
  return doc;
}

std::vector<vector_case> make_cases() {
  std::vector<vector_case> cases;
  std::mt19937 rng(2024);

  for (size_t n : {0, 1, 15, 16, 17, 33, 100, 1000, 10000, 70000}) {
    const std::string src = random_bytes(rng, n);
    const std::string tag = "binary " + std::to_string(n) + ": ";
    cases.push_back({tag + "identical", src, src});
    cases.push_back({tag + "unrelated", src, random_bytes(rng, n)});
    cases.push_back({tag + "one edit", src, mutate(rng, src, 1)});
    cases.push_back({tag + "many edits", src, mutate(rng, src, 12)});
    cases.push_back({tag + "doubled", src, src + src});
    cases.push_back({tag + "to empty", src, ""});
    cases.push_back({tag + "from empty", "", src});
  }
  const std::string zeros(20000, '\0');
  cases.push_back({"zeros with edits", zeros, mutate(rng, zeros, 4)});

  const std::vector<std::string> ascii = {"alpha", "beta", "gamma",      "delta", "price",
                                          "x",     "\\n",  "quote\\\"d", "tab\\t"};
  const std::vector<std::string> cyrillic = {"Привет", "мир",    "Съешь",       "ещё",
                                             "этих",   "мягких", "французских", "булок",
                                             "да",     "выпей",  "чаю"};
  const std::vector<std::string> mixed = {
      "😀",  "🚀", "日本語",  "ñandú",         "€", "Ψ", "naïve", "é",
      "🇺🇦", "z", "\\u2028", "line\u2028sep", "𝄞"};
  struct family {
    const char* name;
    const std::vector<std::string>* words;
  };
  for (const family& f :
       {family{"ascii", &ascii}, family{"cyrillic", &cyrillic}, family{"emoji+cjk", &mixed}}) {
    for (int items : {1, 10, 100}) {
      for (int k = 0; k < 12; ++k) {
        const std::string base = json_doc(items, k, *f.words, rng);
        const std::string tag = std::string("json ") + f.name + " " + std::to_string(items) + "/" +
                                std::to_string(k) + ": ";
        std::string counter = base;
        counter.replace(0, counter.find(','), "{\"counter\":" + std::to_string(k + 1));
        cases.push_back({tag + "counter", base, counter, true});
        cases.push_back({tag + "text edit", base, edit_text(base, *f.words, rng), true});
        std::string appended = base;
        appended.insert(appended.size() - 2,
                        ",{\"id\":999,\"text\":\"" + (*f.words)[k % f.words->size()] + "\"}");
        cases.push_back({tag + "append", base, appended, true});
      }
    }
  }
  // The documented hazard: 'е' (D0 B5) -> 'а' (D0 B0) shares its first byte.
  const std::string hazard = R"({"text":"Съешь же ещё этих мягких французских булок"})";
  std::string hazard_target = hazard;
  hazard_target.replace(hazard_target.find("же"), std::string("же").size(), "жа");
  cases.push_back({"json hazard: shared lead byte", hazard, hazard_target, true});
  cases.push_back({"json tiny source", R"({"a":1})", R"({"a":2,"b":"ё"})", true});
  return cases;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <out.json>\n", argv[0]);
    return 2;
  }
  std::string out;
  gyre::json_writer w(out);
  w.begin_object().key("cases").begin_array();
  size_t count = 0, invalid_utf8 = 0;
  for (const auto& c : make_cases()) {
    for (auto a : {delta_alignment::bytes, delta_alignment::utf8}) {
      const std::string delta = gyre::protocol::fossil_delta(c.source, c.target, a);
      // Sanity: our own strict decoder agrees before the SDK is asked.
      if (gyre::protocol::fossil_apply(c.source, delta) != c.target) {
        std::fprintf(stderr, "fossil_apply failed on %s\n", c.name.c_str());
        return 1;
      }
      w.begin_object()
          .member("name", c.name)
          .member("alignment", a == delta_alignment::utf8 ? "utf8" : "bytes")
          .member("json", c.json)
          .member("source", gyre::base64_encode(c.source))
          .member("target", gyre::base64_encode(c.target))
          .member("delta", gyre::base64_encode(delta));
      if (gyre::is_valid_utf8(delta)) {
        w.member("delta_text", delta);
      } else {
        ++invalid_utf8;
        w.member("delta_text_lossy", delta);
      }
      w.end_object();
      ++count;
    }
  }
  w.end_array().end_object();
  out.push_back('\n');
  std::FILE* f = std::fopen(argv[1], "wb");
  if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "cannot write %s\n", argv[1]);
    return 1;
  }
  std::printf("wrote %zu cases (%zu patches not valid UTF-8) to %s\n", count, invalid_utf8,
              argv[1]);
  return 0;
}
