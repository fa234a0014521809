#include "daemon/port_table.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::daemon {
namespace {

proto::PortMapping mapping(uint16_t host_port, uint16_t sandbox_port) {
  proto::PortMapping m;
  m.host_port = host_port;
  m.sandbox_port = sandbox_port;
  return m;
}

class PortTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-ports");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    auto st = Store::open(dir_->path() + "/db");
    ASSERT_TRUE(st.ok());
    store_ = std::move(*st);
    for (auto* n : {"a", "b"}) {
      SandboxRecord r;
      r.name = n;
      r.agent = "shell";
      r.workspace = "/w";
      ASSERT_TRUE(store_->insert(r).ok());
    }
    table_.emplace(*store_, log_);
  }
  std::optional<TempDir> dir_;
  Logger log_{stderr, LogLevel::kError};
  std::unique_ptr<Store> store_;
  std::optional<PortTable> table_;
};

TEST_F(PortTableTest, ChoosesAFreePortAndRecordsIt) {
  auto pub = table_->reserve("a", mapping(0, 80));
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  auto m = (*pub)->mapping();
  EXPECT_EQ(m.host_ip, "127.0.0.1");
  EXPECT_GE(m.host_port, kFirstEphemeralPort);
  auto ports = table_->of("a");
  ASSERT_TRUE(ports.ok());
  ASSERT_EQ(ports->size(), 1u);
  EXPECT_EQ((*ports)[0].host_port, m.host_port);
  EXPECT_EQ((*ports)[0].sandbox_port, 80);
}

TEST_F(PortTableTest, AHostPortBelongsToOneSandbox) {
  auto first = table_->reserve("a", mapping(0, 80));
  ASSERT_TRUE(first.ok());
  uint16_t port = (*first)->mapping().host_port;
  first->reset();  // a stopped sandbox: reserved, not bound
  auto again = table_->reserve("b", mapping(port, 81));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, kConflict);
  EXPECT_NE(again.error().message.find("published by sandbox 'a'"), std::string::npos);
}

TEST_F(PortTableTest, AutomaticChoiceSkipsPortsOfStoppedSandboxes) {
  auto first = table_->reserve("a", mapping(0, 80));
  ASSERT_TRUE(first.ok());
  uint16_t port = (*first)->mapping().host_port;
  first->reset();  // free on the host again, still a's
  auto second = table_->reserve("b", mapping(0, 80));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE((*second)->mapping().host_port, port);
}

TEST_F(PortTableTest, HostPortInUseIsAConflict) {
  auto held = PortPublisher::bind(mapping(0, 1), log_);
  ASSERT_TRUE(held.ok());
  auto r = table_->reserve("a", mapping((*held)->mapping().host_port, 80));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kConflict);
  EXPECT_TRUE(table_->of("a")->empty());
}

TEST_F(PortTableTest, ReleaseMatchesPatterns) {
  auto p1 = table_->reserve("a", mapping(0, 80));
  auto p2 = table_->reserve("a", mapping(0, 81));
  ASSERT_TRUE(p1.ok() && p2.ok());
  auto m1 = (*p1)->mapping(), m2 = (*p2)->mapping();
  auto miss = table_->release("a", mapping(m1.host_port, 99));
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.error().code, kNotFound);
  proto::PortMapping any_ip = mapping(m1.host_port, 0);
  any_ip.host_ip.clear();
  auto gone = table_->release("a", any_ip);
  ASSERT_TRUE(gone.ok());
  ASSERT_EQ(gone->size(), 1u);
  EXPECT_EQ((*gone)[0].sandbox_port, 80);
  auto left = table_->of("a");
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].host_port, m2.host_port);
}

TEST(PortTableMatch, EmptyFieldsMatchAny) {
  proto::PortMapping p = mapping(5000, 80);
  EXPECT_TRUE(PortTable::matches(mapping(5000, 0), p));
  EXPECT_TRUE(PortTable::matches(mapping(5000, 80), p));
  EXPECT_FALSE(PortTable::matches(mapping(5000, 81), p));
  EXPECT_FALSE(PortTable::matches(mapping(5001, 80), p));
  proto::PortMapping other_ip = mapping(5000, 0);
  other_ip.host_ip = "127.0.0.2";
  EXPECT_FALSE(PortTable::matches(other_ip, p));
  other_ip.host_ip.clear();
  EXPECT_TRUE(PortTable::matches(other_ip, p));
}

}  // namespace
}  // namespace sbx::daemon
