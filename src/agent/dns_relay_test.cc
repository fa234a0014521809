#include "agent/dns_relay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <optional>
#include <string>

#include "agent/link_output_testing.h"

namespace sbx::agent {
namespace {

using proto::FrameType;

/// A bound, non-blocking UDP socket on 127.0.0.1 (ephemeral port).
Fd udp_socket(sockaddr_in& addr) {
  Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return Fd();
  socklen_t len = sizeof addr;
  getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return s;
}

/// Waits up to 5 s for a datagram; nullopt on timeout.
std::optional<std::string> recv_datagram(int fd, int timeout_ms = 5000) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return std::nullopt;
  char buf[2048];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

using testing::frames_of;

class DnsRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stub = udp_socket(stub_addr);
    client = udp_socket(client_addr);
    ASSERT_TRUE(stub.valid());
    ASSERT_TRUE(client.valid());
  }
  void query(const std::string& q) {
    ASSERT_EQ(sendto(client.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&stub_addr),
                     sizeof stub_addr),
              static_cast<ssize_t>(q.size()));
    // The datagram is on loopback: wait until the stub can read it.
    pollfd p{stub.get(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1);
  }
  Console console;
  LinkOutput out;
  sockaddr_in stub_addr{}, client_addr{};
  Fd stub, client;
};

TEST_F(DnsRelayTest, QueryIsRelayedByTagAndAnsweredOnce) {
  DnsRelay relay(stub, out, console);
  query("question");
  relay.read_queries(true);
  auto frames = frames_of(out);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].channel, proto::kDnsChannel);
  EXPECT_EQ(frames[0].type, FrameType::kDatagram);
  auto d = proto::decode_datagram(frames[0].payload);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->body, "question");
  EXPECT_EQ(relay.pending(), 1u);

  relay.on_answer(proto::encode_datagram(d->tag + 1, "wrong tag"));
  EXPECT_EQ(relay.pending(), 1u);
  relay.on_answer(proto::encode_datagram(d->tag, "answer"));
  EXPECT_EQ(recv_datagram(client.get()), "answer");
  EXPECT_EQ(relay.pending(), 0u);
  relay.on_answer(proto::encode_datagram(d->tag, "again"));
  EXPECT_EQ(recv_datagram(client.get(), 200), std::nullopt) << "a second answer is ignored";
}

TEST_F(DnsRelayTest, OversizedEmptyAndHostlessQueriesAreDropped) {
  DnsRelay relay(stub, out, console);
  query(std::string(513, 'q'));
  relay.read_queries(true);
  EXPECT_EQ(out.pending(), 0u) << "a query over 512 bytes must not be relayed";
  query("no host");
  relay.read_queries(false);
  EXPECT_EQ(out.pending(), 0u);
  EXPECT_EQ(relay.pending(), 0u);
  query("ok");
  relay.read_queries(true);
  EXPECT_EQ(relay.pending(), 1u);
  relay.clear();
  EXPECT_EQ(relay.pending(), 0u);
}

TEST_F(DnsRelayTest, BackedUpLinkDropsQueries) {
  DnsRelay relay(stub, out, console);
  std::string chunk(proto::kDataChunk, 'z');
  while (out.has_room()) out.send(1, FrameType::kData, chunk);
  const size_t before = out.pending();
  query("late");
  relay.read_queries(true);
  EXPECT_EQ(out.pending(), before);
  EXPECT_EQ(relay.pending(), 0u);
}

}  // namespace
}  // namespace sbx::agent
