#include "net/http_parser.h"

#include <gtest/gtest.h>

namespace sbx::net {
namespace {

TEST(HttpParser, ParsesConnect) {
  std::string req = "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n"
                    "User-Agent: x\r\n\r\n\x16\x03\x01";
  auto r = parse_request_head(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  const auto& h = **r;
  EXPECT_EQ(h.method, "CONNECT");
  EXPECT_EQ(h.target, "api.example.com:443");
  EXPECT_EQ(h.head_size, req.size() - 3);
  EXPECT_EQ(h.header("HOST").value_or(""), "api.example.com:443");
  auto hp = parse_authority(h.target);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(*hp, (HostPort{"api.example.com", 443}));
}

TEST(HttpParser, AbsoluteFormIsRewrittenToOriginForm) {
  std::string req = "GET http://Example.com:8080/a/b?c=d#frag HTTP/1.1\r\nHost: example.com\r\n"
                    "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\n"
                    "Accept: */*\r\n\r\n";
  auto r = parse_request_head(req);
  ASSERT_TRUE(r.ok() && r->has_value());
  auto u = parse_absolute_url((*r)->target);
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->authority, (HostPort{"Example.com", 8080}));
  EXPECT_EQ(u->path, "/a/b?c=d");
  auto out = rewrite_request_head(**r, u->path);
  EXPECT_EQ(out, "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n"
                 "Connection: close\r\n\r\n");
  EXPECT_EQ(parse_absolute_url("http://h")->path, "/");
  EXPECT_EQ(parse_absolute_url("http://h?q")->path, "/?q");
  EXPECT_FALSE(parse_absolute_url("https://h/").ok());
  EXPECT_FALSE(parse_absolute_url("http://user:pw@h/").ok());
  EXPECT_FALSE(parse_absolute_url("/relative").ok());
}

TEST(HttpParser, IncompleteNeedsMore) {
  for (std::string_view s : {"", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r"}) {
    auto r = parse_request_head(s);
    ASSERT_TRUE(r.ok()) << s;
    EXPECT_FALSE(r->has_value());
  }
}

TEST(HttpParser, RejectsMalformed) {
  for (std::string s :
       {std::string("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", 28), std::string("G@T / HTTP/1.1\r\n\r\n"),
        std::string("GET  / HTTP/1.1\r\n\r\n"), std::string("GET / HTTP/2.0\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nNoColon\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        std::string("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        std::string("\r\n\r\n")}) {
    auto r = parse_request_head(s);
    EXPECT_FALSE(r.ok()) << s;
  }
  std::string nul_early("GET /\0", 6);
  EXPECT_FALSE(parse_request_head(nul_early).ok());
}

TEST(HttpParser, EnforcesLimits) {
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(kMaxRequestHead, 'a');
  EXPECT_FALSE(parse_request_head(big).ok());
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many += "H" + std::to_string(i) + ": v\r\n";
  EXPECT_FALSE(parse_request_head(many + "\r\n").ok());
  std::string hundred = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i) hundred += "H" + std::to_string(i) + ": v\r\n";
  EXPECT_TRUE(parse_request_head(hundred + "\r\n").ok());
}

TEST(HttpParser, Authority) {
  EXPECT_EQ(*parse_authority("[::1]:22"), (HostPort{"::1", 22}));
  EXPECT_EQ(*parse_authority("h", 80), (HostPort{"h", 80}));
  for (auto s : {"h", "h:", "h:0", "h:65536", ":80", "::1:22", "[::1", "[::1]x", "a@b:1",
                 "h:+1", "h:123456"})
    EXPECT_FALSE(parse_authority(s).ok()) << s;
}

}  // namespace
}  // namespace sbx::net
