#include "base/base64.h"

#include <gtest/gtest.h>

namespace sbx {
namespace {

TEST(Base64, RoundTripsEveryLengthAndByte) {
  // RFC 4648's test vectors.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    auto d = base64_decode(base64_encode(all.substr(0, n)));
    ASSERT_TRUE(d) << n;
    EXPECT_EQ(*d, all.substr(0, n));
  }
  EXPECT_EQ(*base64_decode("Zm8="), "fo");
}

TEST(Base64, RefusesAnythingButCanonicalPaddedText) {
  for (const char* bad :
       {"Zm8", "Zm 9v", "Zm9v\n", "Z===", "Zm=v", "Zg==Zg==", "Zh==", "Zm9=", "Zm9v!A==", "===="})
    EXPECT_FALSE(base64_decode(bad)) << bad;
}

}  // namespace
}  // namespace sbx
