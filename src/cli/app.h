// The `sbx` command line: parses arguments with CLI11 and runs the command
// against the daemon API. Exit codes: the command's own for exec/run, 125
// for sbx's failures (docker's convention), 0 otherwise.
#pragma once

#include <ostream>

#include "cli/exec_session.h"

namespace sbx::cli {

/// sbx's own failure: bad arguments, daemon unreachable, API errors.
inline constexpr int kExitFailure = 125;

/// Where a command writes; tests substitute string streams and pipes.
struct Console {
  std::ostream& out;
  std::ostream& err;
  /// Raw descriptors for exec/run streams (and tty detection).
  ExecIo io;
};

/// Runs `sbx ARGS...` and returns the process exit code.
int run_cli(int argc, const char* const* argv, Console& con);

}  // namespace sbx::cli
