// GuestStream: the net::ClientStream contract over a guest-opened channel.
#include "daemon/guest_stream.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "daemon/fake_guest.h"

namespace sbx::daemon {
namespace {

using proto::FrameType;
using testing::kGuestChannel;

class GuestStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pair_ = testing::connect_fake_guest(log_);
    ASSERT_TRUE(pair_.link);
    pair_.link->set_egress_handler([this](std::shared_ptr<GuestChannel> ch, proto::EgressOpen) {
      std::lock_guard l(mu_);
      ch_ = std::move(ch);
      cv_.notify_all();
      return ok();
    });
    ASSERT_EQ(guest().open_egress(kGuestChannel, R"({"kind":"egress","mode":"forward"})").type,
              FrameType::kOpenOk);
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return ch_ != nullptr; });
    stream_ = std::make_unique<GuestStream>(ch_);
  }
  testing::FakeGuest& guest() { return *pair_.guest; }
  std::string read_some(size_t n) {
    std::string buf(n, '\0');
    auto r = stream_->read(buf.data(), n);
    EXPECT_TRUE(r.ok()) << r.error().message;
    buf.resize(r ? *r : 0);
    return buf;
  }

  Logger log_{stderr, LogLevel::kError};
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<GuestChannel> ch_;
  // The link goes before the state its handler uses (members die in reverse).
  testing::LinkPair pair_;
  std::unique_ptr<GuestStream> stream_;
};

TEST_F(GuestStreamTest, ReadKeepsThePartialChunkAndReturnsCredit) {
  ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kData, "hello world"));
  EXPECT_EQ(read_some(5), "hello");
  EXPECT_EQ(read_some(100), " world");
  // Credit for exactly the bytes read, in WINDOW frames.
  uint64_t credit = 0;
  while (credit < 11) {
    auto f = guest().next();
    ASSERT_EQ(f.type, FrameType::kWindow);
    credit += *proto::decode_u32(f.payload);
  }
  EXPECT_EQ(credit, 11u);
}

TEST_F(GuestStreamTest, EofReadsAsZeroAndStaysThere) {
  ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kData, "last"));
  ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kEof, ""));
  EXPECT_EQ(read_some(64), "last");
  char c;
  auto r = stream_->read(&c, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  r = stream_->read(&c, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
}

TEST_F(GuestStreamTest, GuestCloseReadsAsEof) {
  ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kClose, ""));
  char c;
  auto r = stream_->read(&c, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
}

TEST_F(GuestStreamTest, WriteIsChunkedAndWaitsForCredit) {
  // More than the initial window: the second part waits for a WINDOW.
  std::string data(proto::kInitialWindow + 300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  Result<void> wrote = ok();
  std::thread writer([&] { wrote = stream_->write(data); });
  std::string got;
  while (got.size() < data.size()) {
    auto f = guest().next_non_window();
    ASSERT_EQ(f.channel, kGuestChannel);
    ASSERT_EQ(f.type, FrameType::kData);
    EXPECT_LE(f.payload.size(), proto::kDataChunk);
    got += f.payload;
    // Credit only once a whole window has arrived.
    if (got.size() == proto::kInitialWindow) {
      ASSERT_TRUE(guest().send(kGuestChannel, FrameType::kWindow,
                               proto::encode_u32(proto::kInitialWindow)));
    }
    ASSERT_LE(got.size(), data.size());
  }
  writer.join();
  EXPECT_TRUE(wrote.ok());
  EXPECT_EQ(got, data);
}

TEST_F(GuestStreamTest, ShutdownWriteSendsEof) {
  ASSERT_TRUE(stream_->write("bye").ok());
  stream_->shutdown_write();
  bool closed = true;
  EXPECT_EQ(guest().read_until_end(kGuestChannel, &closed), "bye");
  EXPECT_FALSE(closed);  // EOF, not CLOSE: the other direction stays open
}

TEST_F(GuestStreamTest, AbortUnblocksAReadInAnotherThread) {
  Result<size_t> r = size_t{99};
  std::thread reader([&] {
    char buf[16];
    r = stream_->read(buf, sizeof buf);
  });
  stream_->abort();
  reader.join();
  EXPECT_TRUE(!r.ok() || *r == 0);
  bool closed = false;
  guest().read_until_end(kGuestChannel, &closed);
  EXPECT_TRUE(closed);
  // Writes after abort fail instead of waiting for credit forever.
  EXPECT_FALSE(stream_->write(std::string(proto::kInitialWindow + 1, 'x')).ok());
}

TEST_F(GuestStreamTest, LinkLossFailsTheRead) {
  pair_.link->close();
  char c;
  EXPECT_FALSE(stream_->read(&c, 1).ok());
}

}  // namespace
}  // namespace sbx::daemon
