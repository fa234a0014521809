#include "proto/frame.h"

#include <gtest/gtest.h>

namespace sbx::proto {
namespace {

Frame decode_one(const std::string& bytes) {
  FrameDecoder d;
  d.feed(bytes);
  auto r = d.next();
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r->has_value());
  return **r;
}

TEST(Frame, RoundTrip) {
  Frame f{42, FrameType::kData, std::string("hello\0world", 11)};
  Frame g = decode_one(encode(f));
  EXPECT_EQ(g.channel, 42u);
  EXPECT_EQ(g.type, FrameType::kData);
  EXPECT_EQ(g.payload, f.payload);
}

TEST(Frame, HeaderIsLittleEndian) {
  std::string b = encode(Frame{0x01020304, FrameType::kEof, "ab"});
  ASSERT_EQ(b.size(), kHeaderSize + 2);
  EXPECT_EQ(b.substr(0, 4), std::string("\x02\x00\x00\x00", 4));
  EXPECT_EQ(b.substr(4, 4), std::string("\x04\x03\x02\x01", 4));
  EXPECT_EQ(static_cast<uint8_t>(b[8]), 10);
}

TEST(Frame, TruncatedFrameWaitsForMore) {
  std::string b = encode(Frame{1, FrameType::kData, "payload"});
  FrameDecoder d;
  for (size_t i = 0; i + 1 < b.size(); ++i) {
    d.feed(b.substr(i, 1));
    auto r = d.next();
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value()) << "at byte " << i;
  }
  d.feed(b.substr(b.size() - 1));
  auto r = d.next();
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->payload, "payload");
}

TEST(Frame, ManyFramesInOneRead) {
  std::string b;
  for (uint32_t i = 0; i < 100; ++i) b += encode(Frame{i, FrameType::kData, std::to_string(i)});
  FrameDecoder d;
  d.feed(b);
  for (uint32_t i = 0; i < 100; ++i) {
    auto r = d.next();
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_EQ((*r)->channel, i);
    EXPECT_EQ((*r)->payload, std::to_string(i));
  }
  EXPECT_FALSE(d.next()->has_value());
}

TEST(Frame, OversizedLengthIsRejectedBeforeBuffering) {
  FrameDecoder d(1024);
  std::string hdr;
  encode_into(hdr, 1, FrameType::kData, "");
  hdr[0] = '\x01';
  hdr[1] = '\x04';  // 1025 bytes
  d.feed(hdr);
  auto r = d.next();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exceeds"), std::string::npos);
  // Stays failed until resynchronised.
  EXPECT_FALSE(d.next().ok());
}

TEST(Frame, UnknownTypeIsRejected) {
  std::string b = encode(Frame{1, FrameType::kData, "x"});
  b[8] = static_cast<char>(200);
  FrameDecoder d;
  d.feed(b);
  EXPECT_FALSE(d.next().ok());
}

TEST(Frame, ResyncSkipsJunkToHello) {
  std::string nonce(kNonceSize, 'N');
  std::string hello = encode(Frame{kHelloChannel, FrameType::kHello, hello_payload(nonce, "{}")});
  FrameDecoder d;
  d.feed("garbage SBXHELLO in the middle of junk \xff\xff\xff\xff");
  EXPECT_FALSE(d.resync(FrameType::kHello));
  d.feed(hello);
  ASSERT_TRUE(d.resync(FrameType::kHello));
  auto r = d.next();
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->type, FrameType::kHello);
  auto h = parse_hello((*r)->payload);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->nonce, nonce);
  EXPECT_EQ(h->json, "{}");
}

TEST(Frame, ResyncRequiresMatchingNonce) {
  std::string stale = encode(Frame{kHelloChannel, FrameType::kHelloAck,
                                   hello_payload(std::string(kNonceSize, 'A'), "{}")});
  std::string fresh = encode(Frame{kHelloChannel, FrameType::kHelloAck,
                                   hello_payload(std::string(kNonceSize, 'B'), "{}")});
  FrameDecoder d;
  d.feed(stale + fresh);
  ASSERT_TRUE(d.resync(FrameType::kHelloAck, std::string(kNonceSize, 'B')));
  auto r = d.next();
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(parse_hello((*r)->payload)->nonce, std::string(kNonceSize, 'B'));
}

TEST(Frame, ResyncKeepsMemoryBounded) {
  FrameDecoder d;
  for (int i = 0; i < 1000; ++i) {
    d.feed(std::string(4096, 'z'));
    EXPECT_FALSE(d.resync(FrameType::kHello));
  }
  EXPECT_LE(d.buffered(), kHeaderSize + kHelloMagic.size());
}

TEST(Frame, ResyncAfterDecodeError) {
  FrameDecoder d;
  std::string bad = encode(Frame{1, FrameType::kData, "x"});
  bad[8] = 99;
  d.feed(bad);
  ASSERT_FALSE(d.next().ok());
  d.feed(encode(Frame{kHelloChannel, FrameType::kHello,
                      hello_payload(std::string(kNonceSize, 'x'), "{}")}));
  ASSERT_TRUE(d.resync(FrameType::kHello));
  auto r = d.next();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_value());
}

TEST(Frame, HelloRejectsShortPayload) {
  EXPECT_FALSE(parse_hello("SBXHELLO123").ok());
  EXPECT_FALSE(parse_hello(std::string("XXXXXXXX") + std::string(16, 'n')).ok());
}

TEST(Frame, WindowAndResizeCodecs) {
  EXPECT_EQ(*decode_u32(encode_u32(123456789)), 123456789u);
  EXPECT_FALSE(decode_u32("abc").ok());
  auto rs = decode_resize(encode_resize(50, 132));
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->first, 50);
  EXPECT_EQ(rs->second, 132);
  EXPECT_FALSE(decode_resize("12345").ok());
}

TEST(Frame, DatagramCarriesItsTagAndIsBounded) {
  auto d = decode_datagram(encode_datagram(0xA1B2C3D4u, std::string("\x12\x34query", 7)));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->tag, 0xA1B2C3D4u);
  EXPECT_EQ(d->body, std::string("\x12\x34query", 7));
  EXPECT_FALSE(decode_datagram("abc").ok());
  EXPECT_TRUE(decode_datagram(encode_datagram(1, std::string(kMaxDatagram, 'x'))).ok());
  EXPECT_FALSE(decode_datagram(encode_datagram(1, std::string(kMaxDatagram + 1, 'x'))).ok());
  // The decoder knows the type, so a DATAGRAM frame decodes.
  FrameDecoder dec;
  dec.feed(encode(Frame{kDnsChannel, FrameType::kDatagram, encode_datagram(7, "q")}));
  auto f = dec.next();
  ASSERT_TRUE(f.ok() && f->has_value());
  EXPECT_EQ((*f)->type, FrameType::kDatagram);
  EXPECT_EQ((*f)->channel, kDnsChannel);
}

}  // namespace
}  // namespace sbx::proto
