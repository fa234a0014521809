#include "net/policy_store.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::net {
namespace {

TEST(PolicyStore, AddIsIdempotentAndCanonical) {
  auto s = PolicyStore::open(":memory:");
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto ids = (*s)->add("", Action::kAllow, "a.com,*.b.org,host:22,10.0.0.0/8");
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  ASSERT_EQ(ids->size(), 4u);
  auto again = (*s)->add("", Action::kAllow, "A.COM.");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0], (*ids)[0]);
  auto sb = (*s)->add("box", Action::kAllow, "a.com");
  EXPECT_NE((*sb)[0], (*ids)[0]);  // different scope, different rule
  EXPECT_EQ((*s)->list()->size(), 5u);
  EXPECT_EQ((*s)->list(std::string(""))->size(), 4u);
  EXPECT_EQ((*s)->list(std::string("box"))->size(), 1u);
}

TEST(PolicyStore, InvalidInputAddsNothing) {
  auto s = PolicyStore::open(":memory:");
  auto r = (*s)->add("", Action::kAllow, "good.com,bad..com");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("invalid rule 'bad..com'"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE((*s)->list()->empty());
}

TEST(PolicyStore, RemoveByIdAndResource) {
  auto s = PolicyStore::open(":memory:");
  auto ids = (*s)->add("", Action::kDeny, "x.com,y.com");
  ASSERT_TRUE((*s)->add("box", Action::kAllow, "x.com").ok());
  ASSERT_TRUE((*s)->remove((*ids)[0]).ok());
  auto missing = (*s)->remove((*ids)[0]);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, 404);
  EXPECT_FALSE((*s)->remove_resource("", "x.com").ok());  // already gone globally
  auto n = (*s)->remove_resource("box", "X.com.");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto rules = (*s)->list();
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ((*rules)[0].resource.to_string(), "y.com");
}

TEST(PolicyStore, PresetResetAndPersistence) {
  auto dir = TempDir::create("policy");
  std::string path = dir->path() + "/policy.db";
  {
    auto s = PolicyStore::open(path);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*(*s)->preset(), Preset::kBalanced);
    ASSERT_TRUE((*s)->set_preset(Preset::kDenyAll).ok());
    ASSERT_TRUE((*s)->add("", Action::kAllow, "only.example").ok());
  }
  auto s = PolicyStore::open(path);
  ASSERT_TRUE(s.ok());
  auto p = (*s)->load({});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->preset, Preset::kDenyAll);
  EXPECT_TRUE(decide(*p, "x", Target{"only.example", std::nullopt, 443}).allowed);
  EXPECT_FALSE(decide(*p, "x", Target{"pypi.org", std::nullopt, 443}).allowed);
  ASSERT_TRUE((*s)->reset().ok());
  EXPECT_EQ(*(*s)->preset(), Preset::kBalanced);
  EXPECT_TRUE((*s)->list()->empty());
  EXPECT_TRUE(decide(*(*s)->load({}), "x", Target{"pypi.org", std::nullopt, 443}).allowed);
}

}  // namespace
}  // namespace sbx::net
