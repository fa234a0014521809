#include "base/log.h"

#include <sys/time.h>

#include <ctime>

namespace sbx {

void Logger::log(LogLevel lvl, const std::string& msg) {
  if (lvl < min_) return;
  static const char* names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm t;
  gmtime_r(&tv.tv_sec, &t);
  char ts[40];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &t);
  std::lock_guard l(mu_);
  fprintf(out_, "%s.%03ldZ %s %s\n", ts, static_cast<long>(tv.tv_usec / 1000),
          names[static_cast<int>(lvl)], msg.c_str());
  fflush(out_);
}

}  // namespace sbx
