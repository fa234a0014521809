#include "daemon/launcher.h"

#include "base/strings.h"

namespace sbx::daemon {

std::string console_error(const std::string& message, const std::string& tail) {
  if (tail.empty()) return sanitize_utf8(message);
  return sanitize_utf8(message + "; console tail:\n" + tail);
}

}  // namespace sbx::daemon
