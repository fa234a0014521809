// sbx: the command-line client of sandboxd.
#include <csignal>
#include <iostream>

#include "cli/app.h"

int main(int argc, char** argv) {
  // Broken pipes are handled where they happen (exec forwards SIGPIPE to the
  // command); dying of the signal could leave the terminal in raw mode.
  ::signal(SIGPIPE, SIG_IGN);
  sbx::cli::Console con{std::cout, std::cerr, sbx::cli::ExecIo{0, 1, 2}};
  return sbx::cli::run_cli(argc, argv, con);
}
