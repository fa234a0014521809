#include "base/child_process.h"

#include <signal.h>
#include <gtest/gtest.h>

namespace sbx {
namespace {

TEST(ChildProcess, ReportsExitCode) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 7"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->status.exited);
  EXPECT_EQ(r->status.code, 7);
  EXPECT_NE(r->output.find("out"), std::string::npos);
  EXPECT_NE(r->output.find("err"), std::string::npos);
}

TEST(ChildProcess, SignalDeathIs128PlusN) {
  auto r = run_command({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->status.exited);
  EXPECT_EQ(r->status.signal, SIGKILL);
  EXPECT_EQ(r->status.shell_code(), 137);
}

TEST(ChildProcess, MissingProgramIsAnError) {
  SpawnOptions o;
  o.argv = {"/nonexistent/program-xyz"};
  auto c = ChildProcess::spawn(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("No such file"), std::string::npos);
}

TEST(ChildProcess, DestructorKillsRunningChild) {
  pid_t pid;
  {
    SpawnOptions o;
    o.argv = {"sleep", "100"};
    auto c = ChildProcess::spawn(o);
    ASSERT_TRUE(c.ok());
    pid = c->pid();
    EXPECT_TRUE(process_exists(pid));
  }
  EXPECT_FALSE(process_exists(pid));
}

TEST(ChildProcess, WaitForTimesOut) {
  SpawnOptions o;
  o.argv = {"sleep", "5"};
  auto c = ChildProcess::spawn(o);
  ASSERT_TRUE(c.ok());
  auto r = c->wait_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  ASSERT_TRUE(c->kill(SIGTERM).ok());
  auto st = c->wait();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->signal, SIGTERM);
}

TEST(RunChecked, QuotesOutputOnFailure) {
  auto r = run_checked({"sh", "-c", "echo boom-detail; exit 2"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("boom-detail"), std::string::npos);
  EXPECT_NE(r.error().message.find("exit code 2"), std::string::npos);
}

}  // namespace
}  // namespace sbx
