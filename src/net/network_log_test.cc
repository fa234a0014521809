#include "net/network_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "base/files.h"

namespace sbx::net {
namespace {

LogEntry entry(std::string sandbox, std::string host, bool allowed) {
  LogEntry e;
  e.sandbox = std::move(sandbox);
  e.host = std::move(host);
  e.port = 443;
  e.kind = "forward";
  e.method = "CONNECT";
  e.rule = allowed ? "allow x" : "default policy balanced";
  e.allowed = allowed;
  return e;
}

TEST(NetworkLog, RecordsQueriesNewestFirstAndFilters) {
  auto dir = TempDir::create("netlog");
  ASSERT_TRUE(dir.ok());
  auto log = NetworkLog::open(dir->path() + "/net.db");
  ASSERT_TRUE(log.ok()) << log.error().message;
  auto a = (*log)->record(entry("s1", "a.com", true));
  (*log)->record(entry("s2", "b.com", false));
  (*log)->record(entry("s1", "c.com", false));
  EXPECT_GT(a, 0);
  auto all = (*log)->query({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].host, "c.com");
  EXPECT_GT((*all)[0].time_ms, 0);
  auto s1 = (*log)->query({"s1", false, 100});
  ASSERT_EQ(s1->size(), 2u);
  auto blocked = (*log)->query({"s1", true, 100});
  ASSERT_EQ(blocked->size(), 1u);
  EXPECT_EQ((*blocked)[0].host, "c.com");
  EXPECT_EQ((*log)->query({"", false, 1})->size(), 1u);

  (*log)->finish(a, 100, 2000);
  auto again = (*log)->query({"s1", false, 100});
  EXPECT_EQ(again->back().bytes_up, 100u);
  EXPECT_EQ(again->back().bytes_down, 2000u);
  EXPECT_TRUE(again->back().finished);

  // Persisted: a second open sees the rows.
  log->reset();
  auto reopened = NetworkLog::open(dir->path() + "/net.db");
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->query({})->size(), 3u);
}

TEST(NetworkLog, KeepsAtMostMaxRows) {
  auto log = NetworkLog::open(":memory:", 10);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 50; ++i) (*log)->record(entry("s", "h" + std::to_string(i), true));
  auto all = (*log)->query({"", false, 1000});
  ASSERT_TRUE(all.ok());
  EXPECT_LE(all->size(), 10u);
  EXPECT_EQ((*all)[0].host, "h49");
}

TEST(NetworkLog, SubscribersGetEventsAndSlowOnesDrop) {
  auto log = NetworkLog::open(":memory:");
  ASSERT_TRUE(log.ok());
  auto sub = (*log)->subscribe(4);
  auto id = (*log)->record(entry("s", "x.com", true));
  auto e = sub->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "x.com");
  EXPECT_FALSE(e->finished);
  (*log)->finish(id, 1, 2);
  auto f = sub->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->finished);
  EXPECT_EQ(f->bytes_down, 2u);
  // Nobody reads: the proxy still never blocks, the oldest are dropped.
  for (int i = 0; i < 10; ++i) (*log)->record(entry("s", "d" + std::to_string(i), true));
  EXPECT_EQ(sub->dropped(), 6u);
  EXPECT_EQ(sub->next(std::chrono::milliseconds(10))->host, "d6");
  // close() wakes a blocked reader.
  std::thread t([&] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); sub->close(); });
  while (sub->next(std::chrono::milliseconds(5000))) {
  }
  t.join();
  EXPECT_TRUE(sub->closed());
}

TEST(NetworkLog, JsonSurvivesInvalidUtf8) {
  auto e = entry("s", std::string("bad\xff\xfe"), false);
  auto j = nlohmann::json::parse(to_json(e));
  EXPECT_EQ(j["verdict"], "deny");
  EXPECT_EQ(j["port"], 443);
}

}  // namespace
}  // namespace sbx::net
