// Relay over socketpairs: both directions, half-close, a stalled reader,
// cancellation, errors and byte counts.
#include "net/relay.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <thread>

namespace sbx::net {
namespace {

using namespace std::chrono_literals;

// Reads from `fd` until `n` bytes or EOF, giving up after a deadline.
std::string read_n(int fd, size_t n, std::chrono::milliseconds limit = 10s) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[65536];
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// True once `fd` reads EOF (or an error) within the deadline.
bool sees_eof(int fd, std::chrono::milliseconds limit = 10s) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, 0) <= 0;
}

// a_peer <-> [a | relay | b] <-> b_peer, with run() on its own thread.
class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pa = socket_pair();
    auto pb = socket_pair();
    ASSERT_TRUE(pa.ok() && pb.ok());
    a_peer_ = std::move(pa->first);
    b_peer_ = std::move(pb->first);
    a_ = std::make_unique<FdStream>(std::move(pa->second));
    b_ = std::make_unique<FdStream>(std::move(pb->second));
    relay_ = std::make_unique<Relay>(*a_, *b_, 4096);
  }
  void start() {
    done_ = promise_.get_future();
    thread_ = std::thread([this] { promise_.set_value(relay_->run()); });
  }
  // run()'s result, or nullopt if it did not return in time.
  std::optional<Relay::Stats> finish(std::chrono::milliseconds limit = 10s) {
    if (done_.wait_for(limit) != std::future_status::ready) return std::nullopt;
    thread_.join();
    return done_.get();
  }
  void TearDown() override {
    if (thread_.joinable()) {
      // The streams directly too: a broken cancel() must fail, not hang.
      relay_->cancel();
      a_->abort();
      b_->abort();
      thread_.join();
    }
  }

  Fd a_peer_, b_peer_;
  std::unique_ptr<FdStream> a_, b_;
  std::unique_ptr<Relay> relay_;
  std::promise<Relay::Stats> promise_;
  std::future<Relay::Stats> done_;
  std::thread thread_;
};

TEST_F(RelayTest, CopiesBothWaysAndCountsBytes) {
  start();
  ASSERT_TRUE(write_all(a_peer_.get(), "ping from a").ok());
  EXPECT_EQ(read_n(b_peer_.get(), 11), "ping from a");
  ASSERT_TRUE(write_all(b_peer_.get(), "pong").ok());
  EXPECT_EQ(read_n(a_peer_.get(), 4), "pong");
  a_peer_.reset();
  b_peer_.reset();
  auto s = finish();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->a_to_b.bytes, 11u);
  EXPECT_EQ(s->b_to_a.bytes, 4u);
  EXPECT_FALSE(s->cancelled);
}

TEST_F(RelayTest, LargeTransfersBothWaysAtOnce) {
  // Many times the relay's buffer, both ways concurrently.
  std::string up(3 << 20, '\0'), down(2 << 20, '\0');
  for (size_t i = 0; i < up.size(); ++i) up[i] = static_cast<char>(i * 7);
  for (size_t i = 0; i < down.size(); ++i) down[i] = static_cast<char>(i * 13);
  start();
  std::thread wa([&] {
    (void)write_all(a_peer_.get(), up);
    ::shutdown(a_peer_.get(), SHUT_WR);
  });
  std::thread wb([&] {
    (void)write_all(b_peer_.get(), down);
    ::shutdown(b_peer_.get(), SHUT_WR);
  });
  std::string got_b = read_n(b_peer_.get(), up.size() + 1);
  std::string got_a = read_n(a_peer_.get(), down.size() + 1);
  EXPECT_TRUE(sees_eof(a_peer_.get()));  // each half-close passed on
  EXPECT_TRUE(sees_eof(b_peer_.get()));
  wa.join();
  wb.join();
  EXPECT_TRUE(got_b == up) << got_b.size();
  EXPECT_TRUE(got_a == down) << got_a.size();
  auto s = finish();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->a_to_b.bytes, up.size());
  EXPECT_EQ(s->b_to_a.bytes, down.size());
}

TEST_F(RelayTest, HalfCloseKeepsTheOtherDirection) {
  start();
  ASSERT_TRUE(write_all(a_peer_.get(), "request").ok());
  ::shutdown(a_peer_.get(), SHUT_WR);
  EXPECT_EQ(read_n(b_peer_.get(), 100), "request");  // then EOF
  // b still answers after a's EOF, and it arrives.
  ASSERT_TRUE(write_all(b_peer_.get(), "late answer").ok());
  EXPECT_EQ(read_n(a_peer_.get(), 11), "late answer");
  EXPECT_EQ(done_.wait_for(0s), std::future_status::timeout);  // not over yet
  ::shutdown(b_peer_.get(), SHUT_WR);
  EXPECT_TRUE(sees_eof(a_peer_.get()));
  auto s = finish();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->a_to_b.bytes, 7u);
  EXPECT_EQ(s->b_to_a.bytes, 11u);
  EXPECT_TRUE(s->a_to_b.error.empty());
  EXPECT_TRUE(s->b_to_a.error.empty());
}

TEST_F(RelayTest, StalledReaderBoundsMemoryAndStallsOneDirectionOnly) {
  // Small socket buffers so the stall shows after little data.
  int small = 16 * 1024;
  for (int fd : {a_peer_.get(), b_peer_.get(), a_->fd(), b_->fd()}) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }
  start();
  // b_peer never reads. a_peer writes until the socket stays full: if the
  // relay queued without bound this would never happen.
  ASSERT_TRUE(set_nonblocking(a_peer_.get(), true).ok());
  std::string chunk(4096, 'x');
  size_t written = 0;
  bool stalled = false;
  while (!stalled && written < (64u << 20)) {
    ssize_t n = ::send(a_peer_.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << errno;
    pollfd p{a_peer_.get(), POLLOUT, 0};
    stalled = ::poll(&p, 1, 300) == 0;
  }
  EXPECT_TRUE(stalled) << written;
  EXPECT_LT(written, 8u << 20);
  // The other direction still flows.
  ASSERT_TRUE(write_all(b_peer_.get(), "still here").ok());
  EXPECT_EQ(read_n(a_peer_.get(), 10), "still here");
  // And the relay can be stopped while a write is blocked.
  relay_->cancel();
  auto s = finish();
  ASSERT_TRUE(s) << "run() did not return after cancel()";
  EXPECT_TRUE(s->cancelled);
  EXPECT_LE(s->a_to_b.bytes, written);
  EXPECT_EQ(s->b_to_a.bytes, 10u);
}

TEST_F(RelayTest, CancelStopsAnIdleRelay) {
  start();
  EXPECT_EQ(done_.wait_for(50ms), std::future_status::timeout);
  relay_->cancel();
  auto s = finish();
  ASSERT_TRUE(s) << "run() did not return after cancel()";
  EXPECT_TRUE(s->cancelled);
  // Both peers see the streams go away.
  EXPECT_TRUE(sees_eof(a_peer_.get()));
  EXPECT_TRUE(sees_eof(b_peer_.get()));
}

TEST_F(RelayTest, CancelBeforeRunReturnsAtOnce) {
  relay_->cancel();
  start();
  auto s = finish();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->cancelled);
  EXPECT_EQ(s->a_to_b.bytes + s->b_to_a.bytes, 0u);
}

// A stream whose reads fail: the relay must tear the other side down too.
class FailingStream : public ClientStream {
 public:
  Result<size_t> read(char*, size_t) override { return err("boom"); }
  Result<void> write(std::string_view) override { return ok(); }
  void shutdown_write() override {}
  void abort() override {}
};

TEST(RelayErrorTest, ReadErrorTearsBothSidesDown) {
  auto pb = socket_pair();
  ASSERT_TRUE(pb.ok());
  FailingStream a;
  FdStream b(std::move(pb->second));
  Relay relay(a, b);
  std::promise<Relay::Stats> result;
  auto done = result.get_future();
  std::thread t([&] { result.set_value(relay.run()); });
  // run() returns by itself: b was aborted, so its read ended too.
  bool returned = done.wait_for(10s) == std::future_status::ready;
  if (!returned) relay.cancel();
  t.join();
  ASSERT_TRUE(returned) << "an error in one direction must end the other";
  auto s = done.get();
  EXPECT_EQ(s.a_to_b.error, "boom");
  EXPECT_FALSE(s.cancelled);
  EXPECT_TRUE(sees_eof(pb->first.get()));
}

}  // namespace
}  // namespace sbx::net
