#include "harness/tmux_session.h"

#include <unistd.h>

#include <atomic>
#include <thread>

#include "harness/harness.h"

namespace sbx::testing {
namespace {
std::atomic<int> next_id{0};
}

TmuxSession::TmuxSession(const std::string& command, int width, int height)
    : socket_("sbx-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_id++)) {
  // -f /dev/null: the user's tmux.conf must not change what the test sees.
  auto r = run({"tmux", "-L", socket_, "-f", "/dev/null", "new-session", "-d", "-x",
                std::to_string(width), "-y", std::to_string(height), "sh", "-c", command});
  ok_ = r.code == 0;
  if (!ok_) fprintf(stderr, "tmux new-session failed: %s\n", r.all().c_str());
  // Keep the pane (and its last screen) when the program exits.
  if (ok_) run({"tmux", "-L", socket_, "set-option", "-g", "remain-on-exit", "on"});
}

TmuxSession::~TmuxSession() { run({"tmux", "-L", socket_, "kill-server"}); }

std::string TmuxSession::screen() const {
  return run({"tmux", "-L", socket_, "capture-pane", "-p", "-J", "-S", "-2000"}).out;
}

bool TmuxSession::wait_for(const std::string& text, std::chrono::seconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (screen().find(text) != std::string::npos) return true;
    // Polling the screen: tmux has no "wait for text" of its own.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return screen().find(text) != std::string::npos;
}

void TmuxSession::send_keys(const std::string& keys, bool literal) const {
  std::vector<std::string> argv = {"tmux", "-L", socket_, "send-keys", "-t", "0"};
  if (literal) argv.push_back("-l");
  argv.push_back(keys);
  run(argv);
}

}  // namespace sbx::testing
