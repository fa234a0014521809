#include "net/tls_sni.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>

namespace sbx::net {
namespace {

// A real ClientHello from OpenSSL, so the parser is tested against what
// clients send rather than against our own idea of the format.
std::string openssl_client_hello(const char* sni) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  if (sni) SSL_set_tlsext_host_name(ssl.get(), sni);
  SSL_connect(ssl.get());  // wants to read the ServerHello; the hello is written
  char* p = nullptr;
  long n = BIO_get_mem_data(wbio, &p);
  return std::string(p, static_cast<size_t>(n));
}

// Re-frames one handshake record as several smaller records.
std::string split_records(const std::string& rec, size_t chunk) {
  std::string body = rec.substr(5), out;
  for (size_t i = 0; i < body.size(); i += chunk) {
    std::string part = body.substr(i, chunk);
    out += rec.substr(0, 3);
    out += static_cast<char>(part.size() >> 8);
    out += static_cast<char>(part.size() & 0xff);
    out += part;
  }
  return out;
}

TEST(TlsSni, FindsNameInRealClientHello) {
  auto hello = openssl_client_hello("api.example.com");
  ASSERT_GT(hello.size(), 100u);
  auto r = extract_sni(hello);
  EXPECT_EQ(r.status, SniStatus::kFound);
  EXPECT_EQ(r.host, "api.example.com");
}

TEST(TlsSni, EveryPrefixNeedsMore) {
  auto hello = openssl_client_hello("a.example.org");
  for (size_t n = 0; n < hello.size(); ++n)
    ASSERT_EQ(extract_sni(std::string_view(hello).substr(0, n)).status, SniStatus::kNeedMore)
        << n;
}

TEST(TlsSni, HandlesHelloSplitAcrossRecords) {
  auto split = split_records(openssl_client_hello("split.example.net"), 50);
  auto r = extract_sni(split);
  EXPECT_EQ(r.status, SniStatus::kFound);
  EXPECT_EQ(r.host, "split.example.net");
  EXPECT_EQ(extract_sni(split.substr(0, 130)).status, SniStatus::kNeedMore);
}

TEST(TlsSni, NoSniAndNotTls) {
  EXPECT_EQ(extract_sni(openssl_client_hello(nullptr)).status, SniStatus::kNoSni);
  EXPECT_EQ(extract_sni("GET / HTTP/1.1\r\n\r\n").status, SniStatus::kNotTls);
  EXPECT_EQ(extract_sni("G").status, SniStatus::kNotTls);
  // Handshake record that is not a ClientHello (ServerHello = 2).
  std::string server_hello("\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9);
  EXPECT_EQ(extract_sni(server_hello).status, SniStatus::kNotTls);
  // Oversized declared length.
  std::string huge("\x16\x03\x01\x00\x04\x01\xff\xff\xff", 9);
  EXPECT_EQ(extract_sni(huge).status, SniStatus::kNotTls);
}

TEST(TlsSni, CorruptedLengthsAreRejectedNotOverread) {
  auto hello = openssl_client_hello("x.example.com");
  // Flip every byte in turn: must never crash, and never claim a host that
  // is not a substring of the input.
  for (size_t i = 5; i < hello.size(); ++i) {
    std::string c = hello;
    c[i] = static_cast<char>(c[i] ^ 0xff);
    auto r = extract_sni(c);
    if (r.status == SniStatus::kFound) {
      EXPECT_NE(c.find(r.host), std::string::npos);
    }
  }
  // Truncating the record while keeping a larger handshake length: need more.
  std::string t = hello.substr(0, 60);
  EXPECT_EQ(extract_sni(t).status, SniStatus::kNeedMore);
}

}  // namespace
}  // namespace sbx::net
