#include "agent/session_kill.h"

#include <dirent.h>
#include <signal.h>

#include <cstdlib>
#include <string>

#include "base/files.h"
#include "base/strings.h"

namespace sbx::agent {

pid_t session_from_stat(std::string_view stat) {
  // "pid (comm) state ppid pgrp session ..."; comm may contain spaces and
  // parentheses, so parse from the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return -1;
  auto fields = split(trim(stat.substr(close + 1)), ' ');
  if (fields.size() < 4) return -1;
  auto n = parse_uint(fields[3]);
  if (!n || *n > 0x7fffffff) return -1;
  return static_cast<pid_t>(*n);
}

int kill_session(pid_t sid, int sig) {
  if (sid <= 1) return 0;
  ::kill(-sid, sig);
  int others = 0;
  DIR* d = opendir("/proc");
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    auto pid = parse_uint(e->d_name);
    if (!pid || *pid <= 1) continue;
    auto st = read_file(std::string("/proc/") + e->d_name + "/stat");
    if (!st || session_from_stat(*st) != sid) continue;
    if (::kill(static_cast<pid_t>(*pid), sig) == 0) ++others;
  }
  closedir(d);
  return others;
}

}  // namespace sbx::agent
