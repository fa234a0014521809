// Progress and diagnostic lines for the guest console (stderr). In PID-1 mode
// stderr is /dev/console, which the host captures in console.log, so every
// line carries the milliseconds since the agent started to help debug boots.
#pragma once

#include <chrono>
#include <string>

namespace sbx::agent {

/// Writes "sbx-agent: [N ms] message" lines to stderr.
class Console {
 public:
  Console() : start_(std::chrono::steady_clock::now()) {}
  /// Prints one line (unbuffered: a crash or reboot must not lose it).
  void log(const std::string& msg) const;
  /// Milliseconds since construction.
  long elapsed_ms() const;

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sbx::agent
