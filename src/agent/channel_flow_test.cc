#include "agent/channel_flow.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/fd.h"

namespace sbx::agent {
namespace {

ssize_t write_fd(int fd, const void* p, size_t n) { return ::write(fd, p, n); }
ssize_t send_fd(int fd, const void* p, size_t n) { return ::send(fd, p, n, MSG_NOSIGNAL); }

TEST(ChannelFlow, HostDataIsBoundByTheWindow) {
  ChannelFlow f;
  EXPECT_TRUE(f.receive(proto::kInitialWindow - 10));
  EXPECT_EQ(f.outstanding(), proto::kInitialWindow - 10);
  EXPECT_FALSE(f.receive(11)) << "beyond the window is a violation";
  EXPECT_EQ(f.outstanding(), proto::kInitialWindow - 10) << "a refused frame counts nothing";
  EXPECT_TRUE(f.receive(10));
  f.credited(100);
  EXPECT_EQ(f.outstanding(), proto::kInitialWindow - 100);
  EXPECT_TRUE(f.receive(100));
  f.credited(proto::kInitialWindow + 5);  // more than outstanding: clamps at 0
  EXPECT_EQ(f.outstanding(), 0u);
}

TEST(ChannelFlow, SendCreditIsSpentAndGrantedAndClamped) {
  ChannelFlow f;
  EXPECT_EQ(f.send_credit(), proto::kInitialWindow);
  EXPECT_EQ(f.read_limit(proto::kDataChunk), proto::kDataChunk);
  f.spend(proto::kInitialWindow - 100);
  EXPECT_EQ(f.read_limit(proto::kDataChunk), 100u) << "a read never exceeds the credit";
  f.spend(100);
  EXPECT_EQ(f.send_credit(), 0u);
  EXPECT_EQ(f.read_limit(proto::kDataChunk), 0u);
  f.grant(5000);
  EXPECT_EQ(f.send_credit(), 5000u);
  for (int i = 0; i < 1000; ++i) f.grant(0xFFFFFFFFu);  // a WINDOW flood
  EXPECT_EQ(f.send_credit(), ChannelFlow::kMaxCredit);
}

TEST(ChannelFlow, InputIsWrittenUntilTheFdWouldBlock) {
  auto p = make_pipe();
  ASSERT_TRUE(p);
  ASSERT_TRUE(set_nonblocking(p->second.get(), true));
  ChannelFlow f;
  EXPECT_FALSE(f.has_input());
  f.buffer("hello ");
  f.buffer("world");
  EXPECT_EQ(f.input_size(), 11u);
  auto w = f.write_input(p->second.get(), write_fd);
  EXPECT_FALSE(w.failed);
  EXPECT_EQ(w.written, 11u);
  EXPECT_FALSE(f.has_input());
  auto got = read_some(p->first.get(), 100);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "hello world");

  // More than the pipe holds: the rest stays buffered, no error.
  std::string big(4u << 20, 'x');
  f.buffer(big);
  w = f.write_input(p->second.get(), write_fd);
  EXPECT_FALSE(w.failed);
  EXPECT_GT(w.written, 0u);
  EXPECT_LT(w.written, big.size());
  EXPECT_EQ(f.input_size(), big.size() - w.written);
  EXPECT_EQ(f.discard_input(), big.size() - w.written);
  EXPECT_FALSE(f.has_input());
}

TEST(ChannelFlow, AFailedWriteReportsItsErrno) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  sp->first.reset();  // the reader is gone
  ChannelFlow f;
  f.buffer("lost");
  auto w = f.write_input(sp->second.get(), send_fd);
  EXPECT_TRUE(w.failed);
  EXPECT_EQ(w.error, EPIPE);
  EXPECT_EQ(w.written, 0u);
  EXPECT_EQ(f.input_size(), 4u) << "what was not written stays for the caller to drop";
}

TEST(ChannelFlow, EofIsRemembered) {
  ChannelFlow f;
  EXPECT_FALSE(f.input_eof());
  f.set_input_eof();
  EXPECT_TRUE(f.input_eof());
}

}  // namespace
}  // namespace sbx::agent
