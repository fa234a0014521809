#include "agent/link_output.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <optional>
#include <string>

#include "base/fd.h"

namespace sbx::agent {
namespace {

using proto::FrameType;

/// Decodes every frame readable from `fd` within a short deadline.
std::vector<proto::Frame> drain(int fd, size_t want) {
  proto::FrameDecoder dec;
  std::vector<proto::Frame> frames;
  while (frames.size() < want) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) break;
    auto bytes = read_some(fd, 1 << 20);
    if (!bytes || bytes->empty()) break;
    dec.feed(*bytes);
    for (;;) {
      auto f = dec.next();
      if (!f || !f->has_value()) break;
      frames.push_back(std::move(**f));
    }
  }
  return frames;
}

TEST(LinkOutput, FramesAreWrittenInOrder) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  ASSERT_TRUE(set_nonblocking(sp->first.get(), true));
  LinkOutput out;
  EXPECT_EQ(out.pending(), 0u);
  out.send(3, FrameType::kData, "abc");
  out.send(3, FrameType::kEof, "");
  EXPECT_EQ(out.pending(), 2 * proto::kHeaderSize + 3);
  ASSERT_TRUE(out.flush(sp->first.get()));
  EXPECT_EQ(out.pending(), 0u);
  auto frames = drain(sp->second.get(), 2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].channel, 3u);
  EXPECT_EQ(frames[0].type, FrameType::kData);
  EXPECT_EQ(frames[0].payload, "abc");
  EXPECT_EQ(frames[1].type, FrameType::kEof);
}

TEST(LinkOutput, AFullFdKeepsTheRestAndTheMarksFollowThePendingBytes) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  ASSERT_TRUE(set_nonblocking(sp->first.get(), true));
  LinkOutput out;
  std::string chunk(proto::kDataChunk, 'z');
  while (out.has_room()) out.send(1, FrameType::kData, chunk);
  EXPECT_GE(out.pending(), LinkOutput::kHighWater);
  EXPECT_TRUE(out.below_cap());
  while (out.below_cap()) out.send(1, FrameType::kData, chunk);
  EXPECT_GE(out.pending(), LinkOutput::kHardCap);
  const size_t before = out.pending();
  ASSERT_TRUE(out.flush(sp->first.get())) << "a full socket is not an error";
  EXPECT_GT(out.pending(), 0u) << "more than a socket buffer cannot go at once";
  EXPECT_LT(out.pending(), before);
  out.clear();
  EXPECT_EQ(out.pending(), 0u);
  EXPECT_TRUE(out.has_room());
}

TEST(LinkOutput, AClosedPeerIsAnError) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  sp->second.reset();
  LinkOutput out;
  out.send(1, FrameType::kData, "x");
  // SIGPIPE would end the test binary: MSG_NOSIGNAL is not available to
  // write(2), so block the signal for this thread while flushing.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  auto r = out.flush(sp->first.get());
  timespec zero{};
  (void)sigtimedwait(&block, nullptr, &zero);  // consume the pending SIGPIPE
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Broken pipe"), std::string::npos) << r.error().message;
  EXPECT_GT(out.pending(), 0u);
}

}  // namespace
}  // namespace sbx::agent
