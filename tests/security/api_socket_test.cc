// The control socket's peers are hostile too: only the owning user may talk
// to sandboxd, and the socket's directory is closed to everybody else.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/files.h"
#include "base/fd.h"
#include "harness/harness.h"

namespace sbx::testing {
namespace {

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
    EXPECT_EQ(WEXITSTATUS(status), 0) << "a foreign uid was answered (or could not connect: "
                                      << WEXITSTATUS(status) << ")";
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
  // A header flood beyond the limit is cut off.
  auto c = unix_connect(sock);
  ASSERT_TRUE(c.ok());
  std::string flood = "GET /v1/version HTTP/1.1\r\n";
  for (int i = 0; i < 20000; ++i) flood += "X-Junk: " + std::to_string(i) + "\r\n";
  (void)write_all(c->get(), flood);
  c->reset();
  auto v = sbx({"version"});
  EXPECT_EQ(v.code, 0) << v.all();
  EXPECT_NE(v.out.find("Daemon: sandboxd"), std::string::npos) << v.out;
}

}  // namespace
}  // namespace sbx::testing
