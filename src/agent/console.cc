#include "agent/console.h"

#include <unistd.h>

namespace sbx::agent {

long Console::elapsed_ms() const {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - start_)
                               .count());
}

void Console::log(const std::string& msg) const {
  std::string line = "sbx-agent: [" + std::to_string(elapsed_ms()) + " ms] " + msg + "\n";
  // One write() per line so concurrent writers (children on the console)
  // do not interleave inside it; errors are ignored on purpose: there is
  // nowhere else to report them.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace sbx::agent
