// The control socket's peers are hostile too: only the owning user may talk
// to sandboxd, and the socket's directory is closed to everybody else.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "base/fd.h"
#include "base/files.h"
#include "harness/harness.h"

namespace sbx::testing {
namespace {

/// VmHWM (peak resident set, KiB) of `pid`, or -1. A peak, not VmRSS: memory
/// a connection held is handed back when it closes and would hide the growth.
long peak_rss_kib(int pid) {
  auto status = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!status) return -1;
  auto at = status->find("VmHWM:");
  if (at == std::string::npos) return -1;
  return std::atol(status->c_str() + at + 6);
}

struct FloodResult {
  bool refused = false;  ///< the daemon answered or closed before the end
  size_t sent = 0;       ///< bytes the socket took
  std::string reply;     ///< whatever the daemon said, if anything
};

/// Writes `data` without blocking until the peer refuses it (an answer, EOF,
/// EPIPE/ECONNRESET) or `limit` passes.
FloodResult flood_until_refused(int fd, std::string_view data, std::chrono::seconds limit) {
  FloodResult r;
  auto deadline = std::chrono::steady_clock::now() + limit;
  (void)set_nonblocking(fd, true);
  while (r.sent < data.size() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN | POLLOUT, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) r.reply.append(buf, static_cast<size_t>(n));
      if (n >= 0 || (errno != EAGAIN && errno != EINTR)) {
        r.refused = true;
        break;
      }
    }
    if (p.revents & POLLOUT) {
      size_t want = std::min<size_t>(data.size() - r.sent, 1 << 16);
      ssize_t n = ::send(fd, data.data() + r.sent, want, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        r.sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        r.refused = true;  // EPIPE / ECONNRESET: the daemon hung up
        break;
      }
    }
  }
  return r;
}

TEST(ApiSocket, OnlyTheOwnerGetsAnAnswer) {
  SbxEnv env;
  auto v = sbx({"daemon", "start"});
  ASSERT_EQ(v.code, 0) << v.all();
  std::string sock = env.runtime_dir() + "/sandboxd.sock";

  struct stat st;
  ASSERT_EQ(::stat(env.runtime_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "runtime directory must be private";
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << "socket must not be open to group/others";

  // The owner is answered.
  auto c = unix_connect(sock);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(write_all(c->get(), "GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  auto reply = read_some(c->get(), 4096);
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->find("200"), std::string::npos);

  if (::geteuid() == 0) {
    // Another uid that got hold of the socket (root can hand it over) is
    // cut off before a byte is parsed. The directory would stop it first;
    // SO_PEERCRED is the last line.
    ::chmod(env.root().c_str(), 0711);  // mkdtemp made it 0700
    ::chmod(env.runtime_dir().c_str(), 0711);
    ::chmod(sock.c_str(), 0666);
    pid_t pid = fork();
    if (pid == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
      auto fd = unix_connect(sock);
      if (!fd) _exit(4);
      (void)write_all(fd->get(), "GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n");
      auto r = read_some(fd->get(), 4096);
      _exit(!r.ok() || r->empty() ? 0 : 5);  // closed (or reset) without an answer
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ::chmod(env.runtime_dir().c_str(), 0700);
    ::chmod(env.root().c_str(), 0700);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "a foreign uid was answered (or could not connect: " << WEXITSTATUS(status) << ")";
  }
}

TEST(ApiSocket, MalformedRequestsAreRefusedAndTheDaemonLives) {
  SbxEnv env;
  ASSERT_EQ(sbx({"daemon", "start"}).code, 0);
  std::string sock = env.runtime_dir() + "/sandboxd.sock";
  const char* bad[] = {
      "GARBAGE\r\n\r\n",
      "POST /v1/sandboxes HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
      "POST /v1/sandboxes HTTP/1.1\r\nContent-Length: 8\r\n\r\n{\"cpus\":",
      "GET /v1/sandboxes/../../etc/passwd HTTP/1.1\r\n\r\n",
  };
  for (auto* b : bad) {
    auto c = unix_connect(sock);
    ASSERT_TRUE(c.ok());
    (void)write_all(c->get(), b);
    ::shutdown(c->get(), SHUT_WR);
    auto r = read_some(c->get(), 4096);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->find("200 OK"), std::string::npos) << b << " -> " << *r;
  }
  // A header flood beyond the limit is cut off: the daemon refuses it
  // (431/400, or closes the connection) long before the flood is through,
  // and its memory does not grow with the flood.
  auto pid_text = read_file(env.runtime_dir() + "/sandboxd.pid");
  ASSERT_TRUE(pid_text.ok());
  const int pid = std::atoi(pid_text->c_str());
  ASSERT_GT(pid, 0);
  const long hwm_before = peak_rss_kib(pid);
  ASSERT_GT(hwm_before, 0);
  auto c = unix_connect(sock);
  ASSERT_TRUE(c.ok());
  // 64 MiB of headers that never end: 1000 times the daemon's 64 KiB limit.
  std::string flood = "GET /v1/version HTTP/1.1\r\n";
  const std::string line = "X-Junk: " + std::string(4000, 'j') + "\r\n";
  while (flood.size() < (64u << 20)) flood += line;
  FloodResult fr = flood_until_refused(c->get(), flood, std::chrono::seconds(60));
  EXPECT_TRUE(fr.refused) << "the daemon took " << fr.sent << " bytes of headers and kept "
                          << "the connection open";
  EXPECT_LT(fr.sent, flood.size()) << "the whole flood was accepted";
  if (!fr.reply.empty()) {
    EXPECT_TRUE(fr.reply.rfind("HTTP/1.1 431", 0) == 0 || fr.reply.rfind("HTTP/1.1 400", 0) == 0)
        << fr.reply.substr(0, 200);
  }
  c->reset();
  // The peak resident size moved by far less than the flood (the limit and
  // socket buffers, plus noise), not by tens of MiB.
  const long hwm_after = peak_rss_kib(pid);
  EXPECT_LT(hwm_after - hwm_before, 16 * 1024)
      << "sandboxd's peak RSS grew from " << hwm_before << " KiB to " << hwm_after << " KiB";
  auto v = sbx({"version"});
  EXPECT_EQ(v.code, 0) << v.all();
  EXPECT_NE(v.out.find("Daemon: sandboxd"), std::string::npos) << v.out;
}

}  // namespace
}  // namespace sbx::testing
