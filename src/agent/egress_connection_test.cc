#include "agent/egress_connection.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::agent {
namespace {

TEST(EgressConnection, ForwardConnectionsAskForForwardMode) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  const int fd = sp->first.get();
  auto c = describe_egress(std::move(sp->first), false);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->sock.get(), fd) << "the accepted socket is kept";
  EXPECT_EQ(c->request.mode, "forward");
  EXPECT_EQ(c->label, "egress forward");
  EXPECT_EQ(proto::to_json(c->request), R"({"kind":"egress","mode":"forward"})");
}

TEST(EgressConnection, TransparentWithoutOriginalDestinationIsClosed) {
  // No conntrack entry (here: not even an IP socket): nothing to relay to.
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  EXPECT_FALSE(describe_egress(std::move(sp->first), true));
}

TEST(EgressConnection, AcceptPendingTakesWhatIsThereAndNoMore) {
  auto td = TempDir::create("egress-accept");
  ASSERT_TRUE(td);
  const std::string path = td->path() + "/l.sock";
  auto listener = unix_listen(path);
  ASSERT_TRUE(listener);
  ASSERT_TRUE(set_nonblocking(listener->get(), true));
  Console console;
  EXPECT_FALSE(accept_pending(*listener, console)) << "nothing pending";
  auto client = unix_connect(path);
  ASSERT_TRUE(client);
  auto s = accept_pending(*listener, console);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->valid());
  EXPECT_FALSE(accept_pending(*listener, console));
}

}  // namespace
}  // namespace sbx::agent
