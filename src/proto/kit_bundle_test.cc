#include "proto/kit_bundle.h"

#include <gtest/gtest.h>

#include "base/base64.h"

namespace sbx::proto {
namespace {

using nlohmann::json;

TEST(KitBundle, RoundTrips) {
  KitBundle b{"name: x\n", {{"a/b.json", "{}"}, {"c", std::string("\0\xff", 2)}}};
  auto p = parse_kit_bundle(kit_bundle_json(b));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->yaml, b.yaml);
  EXPECT_EQ(p->files, b.files);
}

TEST(KitBundle, PathsStayInsideTheKitsDirectory) {
  EXPECT_TRUE(valid_bundle_path("files/settings.json"));
  EXPECT_TRUE(valid_bundle_path(".hidden/x"));
  for (const char* bad :
       {"", "/etc/passwd", "../x", "a/../b", "a/./b", "a//b", "a/", "kit.yaml", "a\\b"})
    EXPECT_FALSE(valid_bundle_path(bad)) << bad;
  EXPECT_FALSE(valid_bundle_path(std::string("a\0b", 3)));
  EXPECT_FALSE(valid_bundle_path(std::string(kMaxBundlePath + 1, 'a')));
  json j = {{"yaml", ""}, {"files", {{{"path", "../escape"}, {"data", ""}}}}};
  auto p = parse_kit_bundle(j);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("'../escape' must be relative"), std::string::npos)
      << p.error().message;
}

TEST(KitBundle, SizesAndCountsAreBounded) {
  std::string big(kMaxBundleYamlBytes + 1, 'a');
  auto y = parse_kit_bundle(json{{"yaml", base64_encode(big)}});
  ASSERT_FALSE(y);
  EXPECT_NE(y.error().message.find("kit.yaml is over the 65536-byte limit"), std::string::npos)
      << y.error().message;
  EXPECT_TRUE(parse_kit_bundle(json{{"yaml", base64_encode(big.substr(1))}}));

  json one = {{"yaml", ""}, {"files", json::array()}};
  one["files"].push_back(
      {{"path", "f"}, {"data", base64_encode(std::string(kMaxBundleFileBytes + 1, 'x'))}});
  EXPECT_FALSE(parse_kit_bundle(one));

  // Five files of 256 KiB pass one by one, not together.
  json total = {{"yaml", ""}, {"files", json::array()}};
  for (int i = 0; i < 5; ++i)
    total["files"].push_back({{"path", "f" + std::to_string(i)},
                              {"data", base64_encode(std::string(kMaxBundleFileBytes, 'x'))}});
  auto t = parse_kit_bundle(total);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("together"), std::string::npos) << t.error().message;

  json many = {{"yaml", ""}, {"files", json::array()}};
  for (size_t i = 0; i <= kMaxBundleFiles; ++i)
    many["files"].push_back({{"path", "f" + std::to_string(i)}, {"data", ""}});
  EXPECT_FALSE(parse_kit_bundle(many));

  json twice = {{"yaml", ""},
                {"files", {{{"path", "f"}, {"data", ""}}, {{"path", "f"}, {"data", ""}}}}};
  EXPECT_FALSE(parse_kit_bundle(twice));
  EXPECT_FALSE(parse_kit_bundle(json{{"files", json::array()}}));  // no yaml
}

}  // namespace
}  // namespace sbx::proto
