#include "base/strings.h"

#include <gtest/gtest.h>

namespace sbx {
namespace {

TEST(Strings, SplitKeepsEmptyFields) {
  EXPECT_EQ(split("a::b", ':'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("", ':'), (std::vector<std::string>{""}));
}

TEST(Strings, Trim) { EXPECT_EQ(trim("  x y \n"), "x y"); }

TEST(ParseSize, AcceptsCommonUnits) {
  EXPECT_EQ(*parse_size("512m"), 512ull << 20);
  EXPECT_EQ(*parse_size("8g"), 8ull << 30);
  EXPECT_EQ(*parse_size("8G"), 8ull << 30);
  EXPECT_EQ(*parse_size("8GiB"), 8ull << 30);
  EXPECT_EQ(*parse_size("2gb"), 2ull << 30);
  EXPECT_EQ(*parse_size("1024"), 1024ull << 20);
  EXPECT_EQ(*parse_size("4096k"), 4096ull << 10);
}

TEST(ParseSize, RejectsJunk) {
  for (auto s : {"", "abc", "8x", "-1g", "g", "1.5g", "99999999999999999999g"}) {
    auto r = parse_size(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_NE(r.error().message.find("invalid size"), std::string::npos);
  }
}

TEST(FormatSize, Readable) {
  EXPECT_EQ(format_size(512ull << 20), "512 MiB");
  EXPECT_EQ(format_size(3ull << 29), "1.5 GiB");
}

TEST(ShellQuote, QuotesWhenNeeded) {
  EXPECT_EQ(shell_quote("abc"), "abc");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
}

TEST(PercentEncode, KeepsOnlyUnreservedAndExtras) {
  EXPECT_EQ(percent_encode("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(percent_encode("a b/c", "/"), "a%20b/c");
  EXPECT_EQ(percent_encode("\xff"), "%FF");
}

TEST(ParseUint, Overflow) {
  EXPECT_FALSE(parse_uint("18446744073709551616").ok());
  EXPECT_EQ(*parse_uint("18446744073709551615"), 18446744073709551615ull);
}

TEST(SanitizeUtf8, KeepsValidText) {
  EXPECT_EQ(sanitize_utf8("plain ascii\n"), "plain ascii\n");
  EXPECT_EQ(sanitize_utf8("gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(sanitize_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(SanitizeUtf8, ReplacesInvalidSequences) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(sanitize_utf8("a\xff" "b"), "a" + r + "b");
  EXPECT_EQ(sanitize_utf8("\x80"), r);                     // stray continuation byte
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), r + r);            // overlong '/'
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), r + r + r);    // surrogate
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(sanitize_utf8("x\xE2\x82"), "x" + r + r);     // truncated at the end
  EXPECT_EQ(sanitize_utf8("\xE2(a"), r + "(a");            // truncated mid-text
}

}  // namespace
}  // namespace sbx
