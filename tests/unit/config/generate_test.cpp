#include "config/generate.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "config/config_test_util.hpp"
#include "config/validate.hpp"
#include "core/base64.hpp"

namespace gyre::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(genconfig, output_parses_back_and_validates_in_every_format) {
  for (auto fmt : {file_format::json, file_format::yaml, file_format::toml}) {
    std::string text = generate_minimal_config(fmt);
    auto o = test::text_options();
    o.use_env_ = false;
    auto r = load_text(text, fmt, o);
    ASSERT_TRUE(r.ok()) << r.error_ << "\n" << text;
    EXPECT_THAT(r.unknown_keys_, IsEmpty()) << text;
    EXPECT_THAT(validate(r.config_), IsEmpty());
    const config& c = r.config_;
    // base64url without padding: 64 B → 86 chars, 16 B → 22 chars.
    EXPECT_EQ(base64url_decode(c.client_.token_.hmac_secret_key_).value().size(), 64u);
    EXPECT_EQ(base64url_decode(c.admin_.password_).value().size(), 16u);
    EXPECT_EQ(base64url_decode(c.admin_.secret_).value().size(), 64u);
    EXPECT_EQ(base64url_decode(c.http_api_.key_).value().size(), 64u);
    EXPECT_EQ(c.client_.token_.hmac_secret_key_.size(), 86u);
    EXPECT_FALSE(c.admin_.enabled_);
    EXPECT_THAT(c.client_.allowed_origins_, IsEmpty());
    EXPECT_THAT(text, HasSubstr("allowed_origins"));
    EXPECT_THAT(text, HasSubstr("enabled"));
  }
}

TEST(genconfig, secrets_are_fresh_each_time) {
  EXPECT_NE(generate_minimal_config(file_format::json), generate_minimal_config(file_format::json));
}

TEST(genconfig, writes_0600_and_refuses_to_overwrite) {
  test::temp_dir dir;
  std::string path = dir.file("config.yaml");
  ASSERT_EQ(generate_config_file(path), "");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  load_options o = test::text_options();
  o.path_ = path;
  o.use_env_ = false;
  auto r = load(o);
  ASSERT_TRUE(r.ok()) << r.error_;
  EXPECT_TRUE(r.file_found_);
  EXPECT_EQ(r.config_.admin_.password_.size(), 22u);

  EXPECT_THAT(generate_config_file(path), HasSubstr("already exists"));
  EXPECT_EQ(load(o).config_, r.config_);  // untouched
  EXPECT_THAT(generate_config_file(dir.file("config.ini")), HasSubstr("unsupported"));
  EXPECT_THAT(write_new_config_file(dir.file("no/such/dir.json"), "{}"),
              HasSubstr("cannot create"));
}

TEST(defaultconfig, dump_of_defaults_round_trips) {
  for (auto fmt : {file_format::json, file_format::yaml, file_format::toml}) {
    std::string text = dump_config(config{}, fmt);
    auto o = test::text_options();
    o.use_env_ = false;
    auto r = load_text(text, fmt, o);
    ASSERT_TRUE(r.ok()) << r.error_;
    EXPECT_THAT(r.unknown_keys_, IsEmpty());
    EXPECT_EQ(r.config_, config{});
  }
  std::string json = dump_config(config{});
  EXPECT_THAT(json, HasSubstr("\"ping_interval\": \"25s\""));
  EXPECT_THAT(json, HasSubstr("\"history_meta_ttl\": \"720h0m0s\""));
  EXPECT_THAT(json, HasSubstr("\"num_event_loops\": 0"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("redisnats")));
}

TEST(defaultconfig, dump_of_a_loaded_config_round_trips) {
  auto o = test::text_options();
  o.use_env_ = false;
  auto src = test::load_json(R"({
    "client": {"allowed_origins": ["*"], "ping_interval": "1m30s",
               "proxy": {"connect": {"enabled": true, "endpoint": "http://b/connect",
                                     "http": {"static_headers": {"x-a": "1"}}}}},
    "channel": {"namespaces": [{"name": "chat", "history_size": 10, "history_ttl": "300s",
                                "map": {"mode": "recoverable", "key_ttl": "1.5s"}}]},
    "consumers": [{"name": "k1", "type": "kafka", "kafka": {"brokers": ["a:1"]}}],
    "rpc": {"namespaces": [{"name": "users", "proxy_enabled": true}]}
  })",
                             o);
  ASSERT_TRUE(src.ok()) << src.error_;
  for (auto fmt : {file_format::json, file_format::yaml, file_format::toml}) {
    std::string text = dump_config(src.config_, fmt);
    auto r = load_text(text, fmt, o);
    ASSERT_TRUE(r.ok()) << r.error_ << "\n" << text;
    EXPECT_THAT(r.unknown_keys_, IsEmpty());
    EXPECT_EQ(r.config_, src.config_) << text;
  }
}

}  // namespace
}  // namespace gyre::config
