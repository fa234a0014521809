// `sbx run` on a real terminal: sbx is started on a pseudo-terminal we own
// (forkpty), so the test types as a user would and reads the screen bytes.
// Checks raw mode end to end (the guest echoes, Ctrl-C reaches the guest's
// foreground job), the window size at start and after a resize (TIOCSWINSZ
// on our master makes the kernel send SIGWINCH to sbx), the session's exit
// status, and that leaving the session leaves the sandbox running.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "harness/sandbox_suite.h"

namespace sbx::testing {
namespace {

using namespace std::chrono_literals;

/// A program running on a pseudo-terminal whose master side we hold.
class PtyProcess {
 public:
  static std::optional<PtyProcess> spawn(const std::vector<std::string>& argv, int rows, int cols) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    int master = -1;
    pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
    if (pid < 0) return std::nullopt;
    if (pid == 0) {
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::setenv("TERM", "xterm", 1);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    return PtyProcess(master, pid);
  }
  PtyProcess(PtyProcess&& o) noexcept
      : master_(std::exchange(o.master_, -1)),
        pid_(std::exchange(o.pid_, -1)),
        screen_(std::move(o.screen_)) {}
  PtyProcess(const PtyProcess&) = delete;
  PtyProcess& operator=(const PtyProcess&) = delete;
  ~PtyProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) ::close(master_);
  }

  /// Everything the program wrote so far.
  const std::string& screen() const { return screen_; }
  /// Marks the current end of the screen: later waits look only past it.
  void mark() { mark_ = screen_.size(); }

  /// Reads until `needle` appears after the mark; false on timeout or EOF.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (screen_.find(needle, mark_) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_once(left)) return false;
    }
    return true;
  }

  void type(const std::string& keys) {
    size_t off = 0;
    while (off < keys.size()) {
      ssize_t n = ::write(master_, keys.data() + off, keys.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  /// The terminal's current settings (as sbx left them).
  std::optional<termios> settings() const {
    termios t{};
    if (::tcgetattr(master_, &t) != 0) return std::nullopt;
    return t;
  }

  /// Changes the terminal size; the kernel signals SIGWINCH to sbx.
  bool resize(int rows, int cols) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    return ::ioctl(master_, TIOCSWINSZ, &ws) == 0;
  }

  /// Waits for the program to exit (draining its output); its shell-style
  /// exit code, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      if (!read_once(100ms)) std::this_thread::sleep_for(50ms);
    }
  }

 private:
  PtyProcess(int master, pid_t pid) : master_(master), pid_(pid) {}
  bool read_once(std::chrono::milliseconds timeout) {
    pollfd p{master_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc <= 0) return rc == 0;  // timeout: keep waiting
    char buf[4096];
    ssize_t n = ::read(master_, buf, sizeof buf);
    if (n <= 0) return false;  // EIO: the slave side is gone
    screen_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int master_ = -1;
  pid_t pid_ = -1;
  std::string screen_;
  size_t mark_ = 0;
};

class PtyTest : public SandboxSuite<PtyTest> {
 public:
  static SandboxOptions options() { return {.name = "pty", .workspace = "pty-ws"}; }
};

TEST_F(PtyTest, InteractiveSessionOnARealTerminal) {
  auto p = PtyProcess::spawn({sbx_cli_path(), "run", "pty"}, 30, 100);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_for("Starting shell agent in sandbox 'pty'...")) << p->screen();
  ASSERT_TRUE(p->wait_for("Workspace: " + ws())) << p->screen();

  // Typing reaches a shell and its output comes back. The typed text holds
  // no "42", so only the shell's answer can match.
  p->mark();
  p->type("echo $((6*7))\r");
  ASSERT_TRUE(p->wait_for("42\r\n")) << p->screen();

  // The shell starts in the workspace.
  p->mark();
  p->type("pwd\r");
  EXPECT_TRUE(p->wait_for(ws() + "\r\n")) << p->screen();

  // The window size at start...
  p->mark();
  p->type("stty size\r");
  EXPECT_TRUE(p->wait_for("30 100\r\n")) << p->screen();
  // ...and after a resize.
  ASSERT_TRUE(p->resize(40, 120));
  // SIGWINCH -> RESIZE reaches the guest some time later: ask until the
  // new size shows (or the deadline passes).
  bool resized = false;
  for (auto until = std::chrono::steady_clock::now() + 30s;
       !resized && std::chrono::steady_clock::now() < until;) {
    p->mark();
    p->type("stty size\r");
    resized = p->wait_for("40 120\r\n", 2s);
  }
  EXPECT_TRUE(resized) << p->screen();

  // Ctrl-C is a byte in raw mode: it interrupts the guest's foreground job,
  // not sbx, and the session goes on. Well under the sleep's 100 s.
  p->mark();
  p->type("sleep 100\r");
  ASSERT_TRUE(p->wait_for("sleep 100")) << p->screen();
  // Ctrl-C only after the sleep runs, so that it is what gets interrupted.
  bool sleeping = false;
  for (auto until = std::chrono::steady_clock::now() + 60s;
       !sleeping && std::chrono::steady_clock::now() < until;)
    sleeping = guest("pgrep -f '^sleep 100$' >/dev/null").code == 0;
  ASSERT_TRUE(sleeping) << "the guest never ran 'sleep 100': " << p->screen();
  auto t0 = std::chrono::steady_clock::now();
  p->type("\x03");
  p->mark();
  p->type("echo al''ive\r");
  ASSERT_TRUE(p->wait_for("alive\r\n", 30s)) << p->screen();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);

  // The session's status is sbx's status.
  p->mark();
  p->type("exit 3\r");
  auto code = p->wait_exit(60s);
  ASSERT_TRUE(code) << "sbx did not exit after 'exit 3':\n" << p->screen();
  EXPECT_EQ(*code, 3) << p->screen();

  // Leaving the session leaves the sandbox running.
  auto ls = sbx({"ls", "--json"});
  ASSERT_EQ(ls.code, 0) << ls.all();
  auto j = nlohmann::json::parse(ls.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << ls.out;
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "pty");
  EXPECT_EQ(j[0]["status"], "running");
}

TEST_F(PtyTest, TerminalIsRestoredAndRunReattaches) {
  // A second session on the same sandbox works (nothing left half-open by
  // the first) and ends with the shell's status.
  auto p = PtyProcess::spawn({sbx_cli_path(), "run", "pty"}, 24, 80);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_for("Workspace: ")) << p->screen();
  p->mark();
  p->type("echo $((40+2))x\r");
  ASSERT_TRUE(p->wait_for("42x\r\n")) << p->screen();
  auto during = p->settings();
  ASSERT_TRUE(during);
  EXPECT_EQ(during->c_lflag & (ICANON | ECHO), 0u) << "sbx should put the terminal in raw mode";
  p->type("exit 0\r");
  auto code = p->wait_exit(60s);
  ASSERT_TRUE(code) << p->screen();
  EXPECT_EQ(*code, 0);
  auto after = p->settings();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->c_lflag & (ICANON | ECHO), static_cast<tcflag_t>(ICANON | ECHO))
      << "sbx must restore the terminal when the session ends";
}

TEST_F(PtyTest, ResetAsksOnATerminalAndNoKeepsEverything) {
  auto p = PtyProcess::spawn({sbx_cli_path(), "reset"}, 24, 80);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_for("This removes all 1 sandboxes and their disks. Continue? [y/N]"))
      << p->screen();
  p->type("n\r");
  auto code = p->wait_exit(30s);
  ASSERT_TRUE(code) << p->screen();
  EXPECT_EQ(*code, 1) << p->screen();
  EXPECT_NE(p->screen().find("Cancelled."), std::string::npos) << p->screen();
  auto ls = sbx({"ls", "-q"});
  EXPECT_EQ(ls.out, "pty\n") << ls.all();
}

}  // namespace
}  // namespace sbx::testing
