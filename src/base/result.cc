#include "base/result.h"

#include <cerrno>
#include <cstring>

namespace sbx {

Error errno_error(const std::string& what) { return errno_error(what, errno); }

Error errno_error(const std::string& what, int e) {
  return Error{what + ": " + std::strerror(e)};
}

}  // namespace sbx
