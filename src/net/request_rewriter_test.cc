#include "net/request_rewriter.h"

#include <gtest/gtest.h>

namespace sbx::net {
namespace {

CredentialRule anthropic_key() {
  return CredentialRule{"anthropic", "x-api-key", CredentialFormat::kRaw, "", "sk-ant-REAL"};
}

std::string feed_all(RequestRewriter& rw, const std::string& in, std::vector<RequestSeen>* seen,
                     std::string* refused = nullptr) {
  std::vector<RequestSeen> s;
  auto out = rw.feed(in, s);
  if (seen) *seen = s;
  if (!out) {
    if (refused) *refused = out.error().message;
    return "";
  }
  return *out;
}

TEST(RequestRewriter, ReplacesTheSentinelHeaderWithTheRealValue) {
  RequestRewriter rw("api.anthropic.com", 443, {anthropic_key()});
  std::vector<RequestSeen> seen;
  std::string out = feed_all(rw,
                             "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
                             "x-api-key: proxy-managed\r\nContent-Length: 2\r\n\r\n{}",
                             &seen);
  EXPECT_NE(out.find("\r\nx-api-key: sk-ant-REAL\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("proxy-managed"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 2), "{}");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].services, "anthropic");
  EXPECT_EQ(seen[0].path, "/v1/messages");
}

TEST(RequestRewriter, AddsTheHeaderWhenTheRequestHasNone) {
  RequestRewriter rw("api.anthropic.com", 443, {anthropic_key()});
  std::string out = feed_all(rw, "GET / HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n", nullptr);
  EXPECT_NE(out.find("\r\nx-api-key: sk-ant-REAL\r\n\r\n"), std::string::npos) << out;
}

TEST(RequestRewriter, ReplacesOnlyTheHeaderThatIsPresent) {
  CredentialRule oauth{"anthropic", "Authorization", CredentialFormat::kBearer, "", "oat-REAL"};
  RequestRewriter rw("api.anthropic.com", 443, {anthropic_key(), oauth});
  std::string out = feed_all(
      rw,
      "GET / HTTP/1.1\r\nHost: api.anthropic.com\r\nAuthorization: Bearer proxy-managed\r\n\r\n",
      nullptr);
  EXPECT_NE(out.find("Authorization: Bearer oat-REAL\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("x-api-key"), std::string::npos) << out;
}

TEST(RequestRewriter, BasicTokenForGitOverHttps) {
  CredentialRule gh{"github", "Authorization", CredentialFormat::kBasicToken, "", "ghp_X"};
  EXPECT_EQ(credential_header_value(gh), "Basic eC1hY2Nlc3MtdG9rZW46Z2hwX1g=");
}

TEST(RequestRewriter, PlaceholderIsReplacedAnywhereInTheHead) {
  CredentialRule custom{"custom", "", CredentialFormat::kRaw, "PH-123", "secret-v"};
  RequestRewriter rw("api.example.com", 443, {custom});
  std::vector<RequestSeen> seen;
  std::string out = feed_all(rw,
                             "GET /q?key=PH-123 HTTP/1.1\r\nHost: api.example.com\r\n"
                             "X-Token: a PH-123 b\r\nContent-Length: 6\r\n\r\nPH-123",
                             &seen);
  EXPECT_NE(out.find("GET /q?key=secret-v HTTP/1.1"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Token: a secret-v b"), std::string::npos) << out;
  // The body is not the head: left alone.
  EXPECT_EQ(out.substr(out.size() - 6), "PH-123");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].services, "custom");
  EXPECT_EQ(seen[0].path, "/q?key=PH-123");  // the log sees the placeholder, not the value
}

TEST(RequestRewriter, HostMismatchIsRefused) {
  RequestRewriter rw("api.anthropic.com", 443, {anthropic_key()});
  std::string why;
  std::string out =
      feed_all(rw, "GET / HTTP/1.1\r\nHost: evil.test\r\nx-api-key: x\r\n\r\n", nullptr, &why);
  EXPECT_TRUE(out.empty());
  EXPECT_NE(why.find("does not match"), std::string::npos) << why;
  RequestRewriter rw2("api.anthropic.com", 443, {anthropic_key()});
  std::vector<RequestSeen> s;
  auto r = rw2.feed("GET / HTTP/1.1\r\nHost: api.anthropic.com:8443\r\n\r\n", s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 421);
}

TEST(RequestRewriter, SecondRequestOnAKeptAliveConnectionIsDecidedToo) {
  RequestRewriter rw("api.anthropic.com", 443, {anthropic_key()});
  std::vector<RequestSeen> s;
  auto first = rw.feed("GET /a HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n", s);
  ASSERT_TRUE(first.ok());
  EXPECT_NE(first->find("sk-ant-REAL"), std::string::npos);
  auto second = rw.feed("GET /b HTTP/1.1\r\nHost: other.example\r\n\r\n", s);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, 421);
}

TEST(RequestRewriter, MissingOrDoubleHostAndNonOriginTargetsAreRefused) {
  for (std::string bad :
       {"GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: api.anthropic.com\r\nHost: evil.test\r\n\r\n",
        "GET http://evil.test/ HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n",
        "CONNECT evil.test:443 HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: api.anthropic.com\r\nUpgrade: h2c\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: gzip\r\n\r\n"}) {
    RequestRewriter rw("api.anthropic.com", 443, {anthropic_key()});
    std::vector<RequestSeen> s;
    EXPECT_FALSE(rw.feed(bad, s).ok()) << bad;
  }
}

TEST(RequestRewriter, BodiesAreNotParsedAsRequests) {
  // A body that looks like a request for another host is data, not a request.
  std::string smuggled = "GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n";
  std::string in =
      "POST / HTTP/1.1\r\nHost: api.anthropic.com\r\nContent-Length: " +
      std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled +
      "POST /c HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n"
      "GET /d HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n";
  // Byte by byte and all at once give the same stream.
  RequestRewriter whole("api.anthropic.com", 443, {anthropic_key()});
  std::vector<RequestSeen> s1, s2;
  auto all = whole.feed(in, s1);
  ASSERT_TRUE(all.ok()) << all.error().message;
  RequestRewriter bytes("api.anthropic.com", 443, {anthropic_key()});
  std::string out;
  for (char c : in) {
    auto r = bytes.feed(std::string_view(&c, 1), s2);
    ASSERT_TRUE(r.ok()) << r.error().message;
    out += *r;
  }
  EXPECT_EQ(out, *all);
  ASSERT_EQ(s1.size(), 3u);
  EXPECT_EQ(s2.size(), 3u);
  EXPECT_EQ(s1[2].path, "/d");
  EXPECT_NE(all->find(smuggled), std::string::npos);
  EXPECT_NE(all->find("5\r\nhello\r\n0\r\n\r\n"), std::string::npos);
}

TEST(RequestRewriter, BoundsFramingLines) {
  RequestRewriter rw("api.anthropic.com", 443, {anthropic_key()});
  std::vector<RequestSeen> s;
  ASSERT_TRUE(
      rw.feed("POST / HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: chunked\r\n\r\n", s)
          .ok());
  EXPECT_FALSE(rw.feed(std::string(RequestRewriter::kMaxChunkLine + 10, 'a'), s).ok());
}

// The guest segments its bytes as it likes: a too-long trailer line that
// arrives whole is refused as one that arrives in pieces is (the fuzz
// target fuzz_request_rewriter checks this in general).
TEST(RequestRewriter, FramingLineBoundHoldsWhateverTheSegmentation) {
  std::string head =
      "POST / HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (size_t len : {RequestRewriter::kMaxChunkLine, RequestRewriter::kMaxChunkLine + 1}) {
    std::string in = head + "X-T: " + std::string(len - 5, 'a') + "\r\n\r\n";
    RequestRewriter whole("api.anthropic.com", 443, {anthropic_key()});
    RequestRewriter split("api.anthropic.com", 443, {anthropic_key()});
    std::vector<RequestSeen> s;
    bool whole_ok = whole.feed(in, s).ok();
    bool split_ok = true;
    for (size_t at = 0; at < in.size() && split_ok; at += 7)
      split_ok = split.feed(in.substr(at, 7), s).ok();
    EXPECT_EQ(whole_ok, split_ok) << len;
    EXPECT_EQ(whole_ok, len <= RequestRewriter::kMaxChunkLine) << len;
  }
}

}  // namespace
}  // namespace sbx::net
