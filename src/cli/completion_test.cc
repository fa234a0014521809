#include "cli/completion.h"

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"

namespace sbx::cli {
namespace {

std::vector<CompletionCommand> model() {
  CompletionCommand exec;
  exec.name = "exec";
  exec.help = "Run a command";
  exec.flags = {{{"-e", "--env"}, true, "Set a variable"}, {{"-i"}, false, "It's interactive"}};
  exec.takes_sandbox = true;
  CompletionCommand create;
  create.name = "create";
  create.help = "Create";
  create.flags = {{{"--name"}, true, "Name"}};
  create.words = {"shell"};
  create.takes_path = true;
  CompletionCommand status;
  status.name = "status";
  status.help = "Status";
  status.flags = {{{"--json"}, false, "JSON"}};
  CompletionCommand daemon;
  daemon.name = "daemon";
  daemon.help = "Daemon";
  daemon.subcommands = {status};
  return {exec, create, daemon};
}

TEST(Completion, UnknownShellIsRefused) {
  auto r = completion_script("tcsh", model());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bash, zsh, fish"), std::string::npos);
}

TEST(Completion, ScriptsNameCommandsFlagsAndSandboxes) {
  for (auto& sh : completion_shells()) {
    auto s = completion_script(sh, model());
    ASSERT_TRUE(s) << sh;
    for (auto* w : {"exec", "create", "daemon", "status", "env", "sbx ls -q"})
      EXPECT_NE(s->find(w), std::string::npos) << sh << " lacks " << w;
  }
}

// Runs the bash script's function as bash would on TAB.
std::string bash_complete(const std::string& words, int cword) {
  auto script = completion_script("bash", model());
  auto dir = TempDir::create("cli-compl");
  (void)write_file_atomic(dir->path() + "/c.bash", *script);
  auto r = run_command({"bash", "-c", "source " + dir->path() + "/c.bash; COMP_WORDS=(" + words +
                                          "); COMP_CWORD=" + std::to_string(cword) +
                                          "; _sbx; echo \"${COMPREPLY[*]}\""});
  return r ? r->output : "";
}

TEST(Completion, BashCompletesCommandsFlagsAndSubcommands) {
  EXPECT_EQ(bash_complete("sbx ex", 1), "exec\n");
  EXPECT_EQ(bash_complete("sbx exec --e", 2), "--env\n");
  EXPECT_EQ(bash_complete("sbx create sh", 2), "shell\n");
  EXPECT_EQ(bash_complete("sbx daemon st", 2), "status\n");
  EXPECT_EQ(bash_complete("sbx daemon status --j", 3), "--json\n");
}

// Each script must at least parse in its own shell (skipped where that
// shell is not installed).
TEST(Completion, ScriptsParseInTheirShells) {
  int checked = 0;
  for (auto& sh : completion_shells()) {
    if (find_program(sh).empty()) continue;
    auto script = completion_script(sh, model());
    auto dir = TempDir::create("cli-compl");
    ASSERT_TRUE(write_file_atomic(dir->path() + "/script", *script));
    auto r = run_command({sh, "-n", dir->path() + "/script"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status.shell_code(), 0) << sh << ": " << r->output;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no shell to check with";
}

TEST(Completion, FishQuotesApostrophes) {
  auto s = completion_script("fish", model());
  ASSERT_TRUE(s);
  EXPECT_NE(s->find("'It\\'s interactive'"), std::string::npos) << *s;
}

}  // namespace
}  // namespace sbx::cli
