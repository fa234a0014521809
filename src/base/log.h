// Minimal leveled logging to a stream (stderr or the daemon's log file).
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

namespace sbx {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

/// A thread-safe line logger. Owned by whoever needs one (no global).
class Logger {
 public:
  explicit Logger(FILE* out = stderr, LogLevel min = LogLevel::kInfo)
      : out_(out), min_(min) {}
  void log(LogLevel lvl, const std::string& msg);
  void debug(const std::string& m) { log(LogLevel::kDebug, m); }
  void info(const std::string& m) { log(LogLevel::kInfo, m); }
  void warn(const std::string& m) { log(LogLevel::kWarn, m); }
  void error(const std::string& m) { log(LogLevel::kError, m); }
  void set_output(FILE* out) {
    std::lock_guard l(mu_);
    out_ = out;
  }

 private:
  std::mutex mu_;
  FILE* out_;
  LogLevel min_;
};

}  // namespace sbx
