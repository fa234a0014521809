// PortPublisher against the real sbx-agent (test mode, over a socketpair):
// the agent's tcp channels connect to this host's loopback, so a loopback
// server stands in for the program listening inside the sandbox.
#include "daemon/port_publisher.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <thread>

#include "base/child_process.h"
#include "daemon/agent_launcher.h"
#include "support/loopback_server.h"

namespace sbx::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using sbx::testing::connect_loopback;

Result<Fd> listen_loopback(uint16_t port = 0) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return errno_error("bind");
  if (::listen(fd.get(), 16) != 0) return errno_error("listen");
  return fd;
}

uint16_t port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// Reads until `n` bytes, EOF or the deadline; `eof` tells whether EOF came.
std::string read_n(int fd, size_t n, bool* eof = nullptr, std::chrono::milliseconds limit = 20s) {
  std::string out;
  if (eof) *eof = false;
  auto deadline = Clock::now() + limit;
  char buf[65536];
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) {
      if (eof) *eof = true;
      break;
    }
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// The "sandbox" program: accepts one connection, reads it to EOF, then
// answers "got N: <first bytes>" and closes: the answer only comes after
// the host client's half-close went through the whole chain.
class CountingServer {
 public:
  CountingServer() {
    auto l = listen_loopback();
    if (!l) return;
    listener_ = std::move(*l);
    port_ = port_of(listener_.get());
    thread_ = std::thread([this] { run(); });
  }
  ~CountingServer() {
    ::shutdown(listener_.get(), SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  void run() {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 20000) <= 0) return;
    Fd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    bool eof = false;
    std::string got = read_n(c.get(), SIZE_MAX, &eof);
    if (!eof) return;
    (void)write_all(c.get(), "got " + std::to_string(got.size()) + ": " + got.substr(0, 5));
  }

  Fd listener_;
  uint16_t port_ = 0;
  std::thread thread_;
};

class PortPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = testing::start_local_agent(SBX_AGENT_PATH, log_);
    ASSERT_TRUE(a.ok()) << a.error().message;
    agent_ = std::move(a->process);
    link_ = a->link;
  }
  void TearDown() override { testing::stop_local_agent(agent_, link_); }
  std::unique_ptr<PortPublisher> publish(uint16_t sandbox_port, uint16_t host_port = 0) {
    proto::PortMapping m;
    m.host_ip = "127.0.0.1";
    m.host_port = host_port;
    m.sandbox_port = sandbox_port;
    auto p = PortPublisher::bind(m, log_);
    EXPECT_TRUE(p.ok()) << p.error().message;
    if (!p.ok()) return nullptr;
    (*p)->serve(link_);
    return std::move(*p);
  }

  Logger log_{stderr, LogLevel::kWarn};
  ChildProcess agent_;
  std::shared_ptr<AgentLink> link_;
};

TEST_F(PortPublisherTest, BytesGoToTheGuestAndBackWithHalfClose) {
  CountingServer server;
  ASSERT_NE(server.port(), 0);
  auto pub = publish(server.port());
  ASSERT_TRUE(pub);
  // Host port left to us: the first free one from the dynamic range.
  EXPECT_GE(pub->mapping().host_port, kFirstEphemeralPort);
  EXPECT_EQ(pub->mapping().sandbox_port, server.port());
  auto c = connect_loopback(pub->mapping().host_port);
  ASSERT_TRUE(c.ok()) << c.error().message;
  // More than one window of credit, so the transfer needs WINDOWs both ways.
  std::string big(3 << 20, 'z');
  big.replace(0, 5, "hello");
  ASSERT_TRUE(write_all(c->get(), big).ok());
  ::shutdown(c->get(), SHUT_WR);  // the server answers only after EOF
  bool eof = false;
  std::string answer = read_n(c->get(), 1000, &eof);
  EXPECT_EQ(answer, "got " + std::to_string(big.size()) + ": hello");
  EXPECT_TRUE(eof);
}

TEST_F(PortPublisherTest, HostPortInUseIsAConflictThatSaysSo) {
  auto taken = listen_loopback();
  ASSERT_TRUE(taken.ok());
  uint16_t port = port_of(taken->get());
  proto::PortMapping m;
  m.host_port = port;
  m.sandbox_port = 80;
  auto p = PortPublisher::bind(m, log_);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, kConflict);
  EXPECT_NE(p.error().message.find("127.0.0.1:" + std::to_string(port) + " is already in use"),
            std::string::npos)
      << p.error().message;
}

TEST_F(PortPublisherTest, NothingListeningInTheGuestClosesTheClient) {
  auto probe = listen_loopback();
  ASSERT_TRUE(probe.ok());
  uint16_t dead = port_of(probe->get());
  probe->reset();  // nothing listens there now
  auto pub = publish(dead);
  ASSERT_TRUE(pub);
  auto c = connect_loopback(pub->mapping().host_port);
  ASSERT_TRUE(c.ok());
  bool eof = false;
  EXPECT_EQ(read_n(c->get(), 1, &eof), "");
  EXPECT_TRUE(eof);
}

TEST_F(PortPublisherTest, UnpublishClosesTheListenerAndOpenConnections) {
  // An echo "sandbox" server that never closes on its own.
  auto l = listen_loopback();
  ASSERT_TRUE(l.ok());
  uint16_t guest_port = port_of(l->get());
  std::promise<Fd> accepted;
  std::thread acceptor([&] {
    pollfd p{l->get(), POLLIN, 0};
    if (::poll(&p, 1, 20000) <= 0) return accepted.set_value(Fd());
    accepted.set_value(Fd(::accept4(l->get(), nullptr, nullptr, SOCK_CLOEXEC)));
  });
  auto pub = publish(guest_port);
  ASSERT_TRUE(pub);
  uint16_t host_port = pub->mapping().host_port;
  auto c = connect_loopback(host_port);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(write_all(c->get(), "ping").ok());
  auto fut = accepted.get_future();
  ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
  acceptor.join();
  Fd guest_side = fut.get();
  ASSERT_TRUE(guest_side);
  EXPECT_EQ(read_n(guest_side.get(), 4), "ping");  // the relay is running

  auto t0 = Clock::now();
  pub.reset();
  EXPECT_LT(Clock::now() - t0, 10s);
  // The open connection ends on both sides...
  bool eof = false;
  EXPECT_EQ(read_n(c->get(), 1, &eof), "");
  EXPECT_TRUE(eof);
  eof = false;
  EXPECT_EQ(read_n(guest_side.get(), 1, &eof), "");
  EXPECT_TRUE(eof);
  // ...and nothing listens on the host port any more.
  auto again = connect_loopback(host_port);
  EXPECT_FALSE(again.ok());
}

}  // namespace
}  // namespace sbx::daemon
