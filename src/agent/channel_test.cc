#include "agent/channel.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/fd.h"

#include "agent/link_output_testing.h"

namespace sbx::agent {
namespace {

using proto::FrameType;

/// A channel whose "fd" is a string: it shows what the base class decides.
class FakeChannel : public Channel {
 public:
  FakeChannel(uint32_t id, ChannelContext& ctx) : Channel(id, ctx), pipe_(make_pipe()) {}
  void on_eof() override { flow_.set_input_eof(); }
  void abort() override {
    aborted = true;
    Channel::abort();
  }
  void add_poll_fds(PollSet&, bool) override {}
  void on_ready(int, short, short) override {}
  void finish_if_done() override {}
  uint64_t send_credit() const { return flow_.send_credit(); }
  ssize_t read_from(int fd) { return read_to_host(fd, FrameType::kDataErr); }

  bool accepting = true;
  bool aborted = false;
  std::string delivered;

 private:
  bool accepts_input() const override { return accepting; }
  void write_input() override {
    auto w = flow_.write_input(pipe_->second.get(),
                               [](int fd, const void* p, size_t n) { return ::write(fd, p, n); });
    ASSERT_FALSE(w.failed);
    if (w.written > 0) delivered += *read_some(pipe_->first.get(), w.written);
    credit_back(w.written);
  }
  const char* input_name() const override { return "fake credit"; }

  Result<std::pair<Fd, Fd>> pipe_;  ///< what write_input() writes to
};

using testing::frames_of;

class ChannelTest : public ::testing::Test {
 protected:
  Console console;
  LinkOutput out;
  std::vector<char> buf = std::vector<char>(proto::kDataChunk);
  ChannelContext ctx{out, console, buf};
  FakeChannel c{7, ctx};
};

TEST_F(ChannelTest, DeliveredDataIsCreditedBack) {
  c.on_data("hello");
  c.on_data("");  // empty DATA is ignored
  EXPECT_EQ(c.delivered, "hello");
  auto f = frames_of(out);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].channel, 7u);
  EXPECT_EQ(f[0].type, FrameType::kWindow);
  EXPECT_EQ(*proto::decode_u32(f[0].payload), 5u);
  EXPECT_FALSE(c.closed());
}

TEST_F(ChannelTest, UndeliverableDataIsCreditedAtOnce) {
  c.accepting = false;
  c.on_data("dropped");
  EXPECT_EQ(c.delivered, "");
  auto f = frames_of(out);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, FrameType::kWindow);
  EXPECT_EQ(*proto::decode_u32(f[0].payload), 7u);
}

TEST_F(ChannelTest, DataBeyondTheWindowClosesTheChannel) {
  c.accepting = false;  // credited back at once, so only one frame can overrun
  c.on_data(std::string(proto::kInitialWindow, 'x'));
  EXPECT_FALSE(c.closed());
  (void)frames_of(out);
  c.accepting = true;
  // Credited back: the window is open again, this fits.
  c.on_data(std::string(1000, 'y'));
  EXPECT_FALSE(c.closed());
  (void)frames_of(out);
  c.accepting = false;
  // Outstanding is 0 again; one byte more than the window is a violation.
  c.on_data(std::string(proto::kInitialWindow + 1, 'z'));
  EXPECT_TRUE(c.closed());
  EXPECT_TRUE(c.aborted);
  auto f = frames_of(out);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, FrameType::kClose);
}

TEST_F(ChannelTest, WindowGrantsCreditAndBadOnesAreIgnored) {
  c.on_window(proto::encode_u32(100));
  EXPECT_EQ(c.send_credit(), proto::kInitialWindow + 100);
  c.on_window("xy");  // malformed
  EXPECT_EQ(c.send_credit(), proto::kInitialWindow + 100);
  EXPECT_EQ(out.pending(), 0u) << "WINDOW is never answered";
}

TEST_F(ChannelTest, ReadToHostSpendsCredit) {
  auto p = make_pipe();
  ASSERT_TRUE(p);
  ASSERT_TRUE(write_all(p->second.get(), "output"));
  EXPECT_EQ(c.read_from(p->first.get()), 6);
  EXPECT_EQ(c.send_credit(), proto::kInitialWindow - 6);
  p->second.reset();
  EXPECT_EQ(c.read_from(p->first.get()), 0) << "EOF";
  auto f = frames_of(out);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, FrameType::kDataErr);
  EXPECT_EQ(f[0].payload, "output");
}

}  // namespace
}  // namespace sbx::agent
