// prepared_event: which bytes each delta variant carries, in both encodings. A publication
// without a delta base (no history, stream just removed) must reach delta subscribers whole
// with delta false, never as an empty patch.
#include "hub/prepared_event.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace gyre {
namespace {

std::shared_ptr<const delivered_publication> make_pub(std::string data, const std::string* prev,
                                                      uint64_t offset) {
  auto d = std::make_shared<delivered_publication>();
  d->channel = "delta:c";
  d->pub.data = std::move(data);
  d->pub.offset = offset;
  d->epoch = offset ? "E" : "";
  d->use_delta = true;
  if (prev) d->prev_data = std::make_shared<const std::string>(*prev);
  return d;
}

const std::string kDoc = R"({"title":"a long enough document to be worth patching","n":1})";
const std::string kDoc2 = R"({"title":"a long enough document to be worth patching","n":2})";

TEST(prepared_event, no_base_sends_full_payload_without_delta_flag_json) {
  prepared_event ev(make_pub(kDoc, nullptr, 0));
  EXPECT_FALSE(ev.has_patch(protocol::encoding::json));
  std::string_view patch = ev.encoded(protocol::encoding::json, pub_variant::patch).view();
  EXPECT_EQ(patch, ev.encoded(protocol::encoding::json, pub_variant::full_string).view());
  EXPECT_EQ(patch.find("\"delta\""), std::string_view::npos) << patch;
  // The full payload, as a JSON string.
  EXPECT_NE(patch.find(R"("data":"{\"title\")"), std::string_view::npos) << patch;
}

TEST(prepared_event, no_base_sends_full_payload_protobuf) {
  prepared_event ev(make_pub(kDoc, nullptr, 0));
  EXPECT_FALSE(ev.has_patch(protocol::encoding::protobuf));
  EXPECT_EQ(ev.encoded(protocol::encoding::protobuf, pub_variant::patch).view(),
            ev.encoded(protocol::encoding::protobuf, pub_variant::full).view());
}

TEST(prepared_event, with_base_sends_a_patch) {
  prepared_event ev(make_pub(kDoc2, &kDoc, 2));
  EXPECT_TRUE(ev.has_patch(protocol::encoding::json));
  EXPECT_TRUE(ev.has_patch(protocol::encoding::protobuf));
  std::string_view patch = ev.encoded(protocol::encoding::json, pub_variant::patch).view();
  EXPECT_NE(patch.find("\"delta\":true"), std::string_view::npos) << patch;
}

// Unidirectional transports get bare pushes; each envelope is encoded once and shared.
TEST(prepared_event, bare_envelope_for_unidirectional_transports) {
  prepared_event ev(make_pub(R"({"x":1})", nullptr, 0));
  std::string_view reply = ev.encoded(protocol::encoding::json, pub_variant::full).view();
  std::string_view bare =
      ev.encoded(protocol::encoding::json, pub_variant::full, protocol::push_envelope::bare).view();
  EXPECT_EQ(reply, "{\"push\":{\"channel\":\"delta:c\",\"pub\":{\"data\":{\"x\":1}}}}\n");
  EXPECT_EQ(bare, "{\"channel\":\"delta:c\",\"pub\":{\"data\":{\"x\":1}}}\n");
  EXPECT_EQ(bare.data(),
            ev.encoded(protocol::encoding::json, pub_variant::full, protocol::push_envelope::bare)
                .view()
                .data());
  prepared_event join(event_kind::join, "c", client_info{"cl", "u", "", ""});
  EXPECT_EQ(join.encoded(protocol::encoding::json, pub_variant::full, protocol::push_envelope::bare)
                .view()
                .find("{\"channel\":\"c\",\"join\":"),
            0u);
}

}  // namespace
}  // namespace gyre
