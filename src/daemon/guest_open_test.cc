// AgentLink's side of guest-opened channels and DNS datagrams, against a
// fake guest writing raw frames: what a hostile guest can and cannot do.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "daemon/agent_link.h"
#include "daemon/fake_guest.h"
#include "proto/messages.h"

namespace sbx::daemon {
namespace {

using proto::FrameType;
using testing::kGuestChannel;
using K = GuestChannel::Event::Kind;

constexpr const char* kForward = R"({"kind":"egress","mode":"forward"})";

// Records what the handler was given.
struct Handed {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::shared_ptr<GuestChannel>, proto::EgressOpen>> got;
  std::vector<proto::Datagram> datagrams;
  Result<void> result = ok();

  AgentLink::EgressHandler egress() {
    return [this](std::shared_ptr<GuestChannel> ch, proto::EgressOpen o) -> Result<void> {
      std::lock_guard l(mu);
      got.emplace_back(std::move(ch), std::move(o));
      cv.notify_all();
      return result;
    };
  }
  AgentLink::DnsHandler dns() {
    return [this](proto::Datagram d) {
      std::lock_guard l(mu);
      datagrams.push_back(std::move(d));
      cv.notify_all();
    };
  }
  size_t count() {
    std::lock_guard l(mu);
    return got.size();
  }
  // The handler runs after OPEN_OK went out: a test that saw OPEN_OK
  // waits here before looking at what the handler got.
  void wait_for(size_t n) {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return got.size() >= n; });
  }
};

class GuestOpenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pair_ = testing::connect_fake_guest(log_);
    ASSERT_TRUE(pair_.link);
  }
  testing::FakeGuest& guest() { return *pair_.guest; }
  AgentLink& link() { return *pair_.link; }

  Logger log_{stderr, LogLevel::kError};
  Handed handed_;
  // Last, so it goes first: closing the link joins the reader, which may be
  // inside a handler that uses handed_.
  testing::LinkPair pair_;
};

std::string fail_text(const proto::Frame& f) {
  auto o = proto::parse_open_failure(f.payload);
  return o ? o->error : "(malformed OPEN_FAIL)";
}

TEST_F(GuestOpenTest, WithoutAHandlerEgressIsNotEnabled) {
  auto f = guest().open_egress(kGuestChannel, kForward);
  EXPECT_EQ(f.channel, kGuestChannel);
  ASSERT_EQ(f.type, FrameType::kOpenFail);
  EXPECT_EQ(fail_text(f), "egress is not enabled");
}

TEST_F(GuestOpenTest, OpenReachesTheHandlerAndCarriesDataBothWays) {
  link().set_egress_handler(handed_.egress());
  auto f = guest().open_egress(
      kGuestChannel, R"({"kind":"egress","mode":"transparent","ip":"1.2.3.4","port":443})");
  EXPECT_EQ(f.channel, kGuestChannel);
  ASSERT_EQ(f.type, FrameType::kOpenOk) << f.payload;
  EXPECT_EQ(f.payload, "{}");
  // OPEN_OK is sent before the handler runs; by the next frame it has run.
  ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kData, "from guest"));
  handed_.wait_for(1);
  auto [ch, open] = handed_.got[0];
  EXPECT_EQ(ch->id(), kGuestChannel);
  EXPECT_EQ(open.mode, "transparent");
  EXPECT_EQ(open.ip, "1.2.3.4");
  EXPECT_EQ(open.port, 443);
  auto e = ch->next_event();
  ASSERT_EQ(e.kind, K::kStdout);
  EXPECT_EQ(e.data, "from guest");
  ch->consumed(e.data.size());
  ASSERT_TRUE(ch->write_stdin("from host").ok());
  auto w = guest().next();
  EXPECT_EQ(w.type, FrameType::kWindow);
  EXPECT_EQ(*proto::decode_u32(w.payload), 10u);
  auto d = guest().next();
  EXPECT_EQ(d.channel, kGuestChannel);
  EXPECT_EQ(d.type, FrameType::kData);
  EXPECT_EQ(d.payload, "from host");
  ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kEof, ""));
  EXPECT_EQ(ch->next_event().kind, K::kEof);
  ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kClose, ""));
  EXPECT_EQ(ch->next_event().kind, K::kClosed);
}

TEST_F(GuestOpenTest, BadOpensAreRefused) {
  link().set_egress_handler(handed_.egress());
  // Not a guest channel id.
  auto f = guest().open_egress(5, kForward);
  EXPECT_EQ(f.channel, 5u);
  ASSERT_EQ(f.type, FrameType::kOpenFail);
  EXPECT_NE(fail_text(f).find("not a guest channel"), std::string::npos);
  // Not JSON, the wrong kind, a bad transparent destination.
  for (const char* bad : {"{not json", R"({"argv":["sh"]})", R"({"kind":"tcp","port":22})",
                          R"({"kind":"egress","mode":"transparent","ip":"nope","port":1})",
                          R"({"kind":"egress","mode":"sideways"})"}) {
    auto r = guest().open_egress(kGuestChannel + 1, bad);
    EXPECT_EQ(r.channel, kGuestChannel + 1) << bad;
    EXPECT_EQ(r.type, FrameType::kOpenFail) << bad;
  }
  // A duplicate of a live channel.
  ASSERT_EQ(guest().open_egress(kGuestChannel, kForward).type, FrameType::kOpenOk);
  auto dup = guest().open_egress(kGuestChannel, kForward);
  ASSERT_EQ(dup.type, FrameType::kOpenFail);
  EXPECT_NE(fail_text(dup).find("already open"), std::string::npos);
  handed_.wait_for(1);
  EXPECT_EQ(handed_.count(), 1u);  // the handler saw none of the refused ones
}

TEST_F(GuestOpenTest, ConcurrentGuestChannelsAreCapped) {
  link().set_egress_handler(handed_.egress());
  for (uint32_t i = 0; i < AgentLink::kMaxGuestChannels; ++i)
    ASSERT_EQ(guest().open_egress(kGuestChannel + i, kForward).type, FrameType::kOpenOk) << i;
  auto over = guest().open_egress(kGuestChannel + 1000, kForward);
  ASSERT_EQ(over.type, FrameType::kOpenFail);
  EXPECT_NE(fail_text(over).find("too many"), std::string::npos);
  // Closing one frees a place.
  ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kClose, ""));
  EXPECT_EQ(guest().open_egress(kGuestChannel + 1001, kForward).type, FrameType::kOpenOk);
  handed_.wait_for(AgentLink::kMaxGuestChannels + 1);
  EXPECT_EQ(handed_.count(), AgentLink::kMaxGuestChannels + 1);
}

TEST_F(GuestOpenTest, HandlerErrorClosesTheChannel) {
  handed_.result = err(503, "busy");
  link().set_egress_handler(handed_.egress());
  EXPECT_EQ(guest().open_egress(kGuestChannel, kForward).type, FrameType::kOpenOk);
  auto c = guest().next();
  EXPECT_EQ(c.channel, kGuestChannel);
  EXPECT_EQ(c.type, FrameType::kClose);
}

TEST_F(GuestOpenTest, RemovedHandlerIsNotCalledAgain) {
  link().set_egress_handler(handed_.egress());
  ASSERT_EQ(guest().open_egress(kGuestChannel, kForward).type, FrameType::kOpenOk);
  handed_.wait_for(1);
  link().set_egress_handler(nullptr);
  auto f = guest().open_egress(kGuestChannel + 1, kForward);
  ASSERT_EQ(f.type, FrameType::kOpenFail);
  EXPECT_EQ(fail_text(f), "egress is not enabled");
  EXPECT_EQ(handed_.count(), 1u);
}

TEST_F(GuestOpenTest, DataBeyondCreditAbortsTheChannel) {
  link().set_egress_handler(handed_.egress());
  ASSERT_EQ(guest().open_egress(kGuestChannel, kForward).type, FrameType::kOpenOk);
  // One chunk more than the window, never credited by the host.
  std::string chunk(proto::kDataChunk, 'x');
  for (uint32_t sent = 0; sent <= proto::kInitialWindow; sent += proto::kDataChunk)
    ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kData, chunk));
  auto c = guest().next_non_window();
  EXPECT_EQ(c.channel, kGuestChannel);
  EXPECT_EQ(c.type, FrameType::kClose);
  handed_.wait_for(1);
  auto ch = handed_.got.at(0).first;
  size_t data = 0;
  for (;;) {
    auto e = ch->next_event();
    if (e.kind != K::kStdout) {
      EXPECT_EQ(e.kind, K::kError);
      break;
    }
    data += e.data.size();
  }
  EXPECT_EQ(data, proto::kInitialWindow);  // what was within credit, and no more
  EXPECT_TRUE(link().connected());         // the link itself survives
}

TEST_F(GuestOpenTest, AbortWakesABlockedReader) {
  link().set_egress_handler(handed_.egress());
  ASSERT_EQ(guest().open_egress(kGuestChannel, kForward).type, FrameType::kOpenOk);
  handed_.wait_for(1);
  auto ch = handed_.got[0].first;
  GuestChannel::Event got;
  std::thread reader([&] { got = ch->next_event(); });
  ch->abort();
  reader.join();
  EXPECT_EQ(got.kind, K::kError);
  auto c = guest().next_non_window();
  EXPECT_EQ(c.channel, kGuestChannel);
  EXPECT_EQ(c.type, FrameType::kClose);
}

TEST_F(GuestOpenTest, DatagramsReachTheDnsHandlerAndRepliesGoBack) {
  link().set_dns_handler(handed_.dns());
  // Ignored: a datagram on another channel, a truncated one, a non-datagram on the DNS channel.
  ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kDatagram, proto::encode_datagram(1, "x")));
  ASSERT_TRUE(guest().send(proto::kDnsChannel, FrameType::kDatagram, "ab"));
  ASSERT_TRUE(guest().send(proto::kDnsChannel, FrameType::kData, "abcdef"));
  ASSERT_TRUE(guest().send(proto::kDnsChannel, FrameType::kDatagram,
                           proto::encode_datagram(42, "query")));
  {
    std::unique_lock l(handed_.mu);
    handed_.cv.wait(l, [&] { return !handed_.datagrams.empty(); });
    ASSERT_EQ(handed_.datagrams.size(), 1u);  // the bad ones came first and were dropped
    EXPECT_EQ(handed_.datagrams[0].tag, 42u);
    EXPECT_EQ(handed_.datagrams[0].body, "query");
  }
  ASSERT_TRUE(link().send_datagram(42, "answer").ok());
  auto f = guest().next();
  EXPECT_EQ(f.channel, proto::kDnsChannel);
  ASSERT_EQ(f.type, FrameType::kDatagram);
  auto d = proto::decode_datagram(f.payload);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->tag, 42u);
  EXPECT_EQ(d->body, "answer");
  EXPECT_FALSE(link().send_datagram(1, std::string(proto::kMaxDatagram + 1, 'x')).ok());
}

}  // namespace
}  // namespace sbx::daemon
