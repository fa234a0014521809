#include "daemon/policy_service.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::daemon {
namespace {

TEST(PolicyService, AptHostsOfSources) {
  auto h = apt_hosts_of({"http://deb.debian.org/debian", "https://user@mirror.example:8080/debian",
                         "http://DEB.debian.org/debian-security", "file:/srv/repo", "cdrom:[x]/"});
  EXPECT_EQ(h, (std::vector<std::string>{"deb.debian.org", "mirror.example"}));
}

TEST(PolicyService, CheckParsesTargetsAndRefusesJunk) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir.ok());
  Logger log(stderr, LogLevel::kError);
  auto p = PolicyService::open(dir->path() + "/policy.db", log);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto& svc = **p;
  ASSERT_TRUE(svc.add("", net::Action::kAllow, "api.example.com").ok());
  auto a = svc.check("", "api.example.com");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->allowed);
  auto b = svc.check("", "api.example.com:8443");  // a name rule covers 80/443 only
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->allowed);
  auto c = svc.check("", "[::1]:80");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->allowed);
  auto bad = svc.check("", "no spaces allowed");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, 400);
  auto rm = svc.remove_resource("", "not-there.example");
  ASSERT_FALSE(rm.ok());
  EXPECT_EQ(rm.error().code, 404);
  EXPECT_FALSE(svc.init("bogus").ok());
  // A removed sandbox's rules go; global ones stay.
  ASSERT_TRUE(svc.add("old", net::Action::kAllow, "old.example").ok());
  auto n = svc.forget_sandbox("old");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_FALSE(svc.check("old", "old.example")->allowed);
  EXPECT_TRUE(svc.check("", "api.example.com")->allowed);
}

TEST(PolicyService, CurrentPolicyFollowsEveryEdit) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir.ok());
  Logger log(stderr, LogLevel::kError);
  auto p = PolicyService::open(dir->path() + "/policy.db", log);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto& svc = **p;
  auto allowed = [&](const std::string& host) {
    return net::decide(*svc.current(), "s1", net::Target{host, std::nullopt, 443}).allowed;
  };
  auto before = svc.current();
  EXPECT_EQ(before, svc.current());  // cached between edits
  EXPECT_FALSE(allowed("api.example.com"));
  auto ids = svc.add("", net::Action::kAllow, "api.example.com");
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(allowed("api.example.com"));
  EXPECT_FALSE(net::decide(*before, "s1", net::Target{"api.example.com", std::nullopt, 443}).allowed)
      << "a snapshot in use must not change under its reader";
  ASSERT_TRUE(svc.remove_id(ids->at(0)).ok());
  EXPECT_FALSE(allowed("api.example.com"));
  ASSERT_TRUE(svc.init("allow-all").ok());
  EXPECT_TRUE(allowed("anything.example"));
  ASSERT_TRUE(svc.reset().ok());
  EXPECT_FALSE(allowed("anything.example"));
  ASSERT_TRUE(svc.add("s1", net::Action::kAllow, "mine.example").ok());
  EXPECT_TRUE(allowed("mine.example"));
  ASSERT_TRUE(svc.forget_sandbox("s1").ok());
  EXPECT_FALSE(allowed("mine.example"));
}

}  // namespace
}  // namespace sbx::daemon
