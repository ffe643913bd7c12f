// exporter_settings: the OTEL_* variables, their defaults and the errors that name them.
#include "tracing/exporter_settings.hpp"

#include <gtest/gtest.h>

#include <map>

namespace gyre::tracing {
namespace {

std::optional<exporter_settings> from(const std::map<std::string, std::string>& vars,
                                      std::string& error) {
  return settings_from_env(
      [&](const char* name) -> const char* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
      },
      error);
}

TEST(ExporterSettings, Defaults) {
  std::string error;
  auto s = from({}, error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(s->service_name, "centrifugo");
  EXPECT_EQ(s->max_queue_size, 2048u);
  EXPECT_EQ(s->max_export_batch_size, 512u);
  EXPECT_EQ(s->schedule_delay.count(), 5000);
  EXPECT_EQ(s->timeout.count(), 10000);
}

TEST(ExporterSettings, Endpoints) {
  std::string error;
  auto s = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"}}, error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->endpoint, "http://collector:4318/v1/traces");
  // The traces-specific endpoint is taken as it is.
  s = from({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://x:1/custom"}},
           error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->endpoint, "https://x:1/custom");
}

TEST(ExporterSettings, HeadersResourceAndService) {
  std::string error;
  auto s = from({{"OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, x=1"},
                 {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x=2"},
                 {"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=r"}},
                error);
  ASSERT_TRUE(s) << error;
  ASSERT_EQ(s->headers.size(), 2u);
  EXPECT_EQ(s->headers[0].second, "a b");
  EXPECT_EQ(s->headers[1].second, "2");
  EXPECT_EQ(s->service_name, "r");
  s = from({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=r"}, {"OTEL_SERVICE_NAME", "gyre-eu"}},
           error);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service_name, "gyre-eu");
}

TEST(ExporterSettings, Numbers) {
  std::string error;
  auto s = from({{"OTEL_BSP_MAX_QUEUE_SIZE", "10"},
                 {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100"},
                 {"OTEL_BSP_SCHEDULE_DELAY", "50"},
                 {"OTEL_EXPORTER_OTLP_TIMEOUT", "7"}},
                error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->max_queue_size, 10u);
  EXPECT_EQ(s->max_export_batch_size, 10u);  // at most the queue
  EXPECT_EQ(s->schedule_delay.count(), 50);
  EXPECT_EQ(s->timeout.count(), 7);
}

TEST(ExporterSettings, ErrorsNameTheVariable) {
  const std::map<std::string, std::string> bad[] = {
      {{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}},
      {{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"}},
      {{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}},
      {{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}},
      {{"OTEL_BSP_MAX_QUEUE_SIZE", "0"}},
      {{"OTEL_BSP_SCHEDULE_DELAY", "5s"}},
      {{"OTEL_EXPORTER_OTLP_TIMEOUT", "-1"}},
      {{"OTEL_RESOURCE_ATTRIBUTES", "=x"}},
  };
  for (const auto& vars : bad) {
    std::string error;
    EXPECT_FALSE(from(vars, error));
    EXPECT_NE(error.find(vars.begin()->first), std::string::npos) << error;
  }
  std::string error;
  EXPECT_TRUE(from({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}}, error)) << error;
}

}  // namespace
}  // namespace gyre::tracing
