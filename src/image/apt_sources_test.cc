#include "image/apt_sources.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::image {
namespace {

TEST(AptSources, OneLineFormat) {
  auto v = parse_one_line_sources(
      "# a comment\n"
      "deb http://deb.debian.org/debian bookworm main contrib # trailing\n"
      "\n"
      "deb-src http://deb.debian.org/debian bookworm main\n"
      "deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] https://x.example/apt stable main\n"
      "   deb   http://security.debian.org/debian-security   bookworm-security main\n"
      "garbage line\n");
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].types, std::vector<std::string>{"deb"});
  EXPECT_EQ(v[0].uris, std::vector<std::string>{"http://deb.debian.org/debian"});
  EXPECT_EQ(v[0].suites, std::vector<std::string>{"bookworm"});
  EXPECT_EQ(v[0].components, (std::vector<std::string>{"main", "contrib"}));
  EXPECT_EQ(v[1].types, std::vector<std::string>{"deb-src"});
  EXPECT_EQ(v[2].signed_by, "/usr/share/keyrings/x.gpg");
  EXPECT_EQ(v[2].uris, std::vector<std::string>{"https://x.example/apt"});
  EXPECT_EQ(v[3].suites, std::vector<std::string>{"bookworm-security"});
}

TEST(AptSources, Deb822Format) {
  auto v = parse_deb822_sources(
      "Types: deb deb-src\n"
      "# comment inside a stanza\n"
      "URIs: http://a.example/debian http://b.example/debian\n"
      "Suites: bookworm bookworm-updates\n"
      "Components: main\n"
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
      "\n"
      "\n"
      "Types: deb\n"
      "URIs: http://c.example/debian\n"
      "Suites: bookworm\n"
      "Components: main\n"
      "Enabled: no\n"
      "\n"
      "types: deb\n"
      "uris: https://deb.nodesource.com/node_20.x\n"
      "suites: nodistro\n"
      "components: main\n"
      "signed-by:\n"
      " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
      " .\n"
      " abc\n");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].types, (std::vector<std::string>{"deb", "deb-src"}));
  EXPECT_EQ(v[0].uris.size(), 2u);
  EXPECT_EQ(v[0].suites, (std::vector<std::string>{"bookworm", "bookworm-updates"}));
  EXPECT_TRUE(v[0].enabled);
  EXPECT_FALSE(v[1].enabled);
  EXPECT_EQ(v[2].suites, std::vector<std::string>{"nodistro"});
  EXPECT_NE(v[2].signed_by.find("BEGIN PGP"), std::string::npos);
}

TEST(AptSources, FilterKeepsOnlyDebianBookworm) {
  std::vector<AptSource> all = parse_deb822_sources(
      "Types: deb\n"
      "URIs: http://deb.debian.org/debian\n"
      "Suites: bookworm bookworm-updates bookworm-backports\n"
      "Components: main non-free-firmware\n"
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
      "\n"
      "Types: deb\n"
      "URIs: http://deb.debian.org/debian\n"
      "Suites: bookworm\n"
      "Components: main\n"
      "Enabled: no\n"
      "\n"
      "Types: deb\n"
      "URIs: https://deb.nodesource.com/node_20.x\n"
      "Suites: nodistro\n"
      "Components: main\n"
      "Signed-By: /usr/share/keyrings/nodesource.gpg\n");
  auto more = parse_one_line_sources(
      "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n"
      "deb [signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/debian bookworm stable\n"
      "deb https://download.docker.com/linux/debian bookworm stable\n"
      "deb-src http://deb.debian.org/debian bookworm main\n"
      "deb http://security.debian.org/debian-security bookworm-security main\n"
      "deb http://deb.debian.org/debian trixie main\n");
  all.insert(all.end(), more.begin(), more.end());
  auto kept = filter_debian_sources(all, "bookworm");
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].suites, (std::vector<std::string>{"bookworm", "bookworm-updates"}));
  EXPECT_EQ(kept[0].components, std::vector<std::string>{"main"});
  EXPECT_EQ(render_sources_list(kept),
            "deb http://deb.debian.org/debian bookworm main\n"
            "deb http://deb.debian.org/debian bookworm-updates main\n"
            "deb http://security.debian.org/debian-security bookworm-security main\n");
}

TEST(AptSources, ReadsAHostTreeAndFailsWithoutDebian) {
  auto d = TempDir::create("sbx-apt-test");
  ASSERT_TRUE(d.ok());
  std::string etc = d->path();
  ASSERT_TRUE(make_dirs(etc + "/sources.list.d").ok());
  ASSERT_TRUE(write_file_atomic(etc + "/sources.list.d/google.list",
                                "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n")
                  .ok());
  // Not a *.list / *.sources name: apt ignores it, so do we.
  ASSERT_TRUE(write_file_atomic(etc + "/sources.list.d/debian.sources.disabled",
                                "Types: deb\nURIs: http://x/debian\nSuites: bookworm\n"
                                "Components: main\n")
                  .ok());
  auto none = host_debian_sources_list("bookworm", etc);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no Debian 'bookworm' source"), std::string::npos);

  ASSERT_TRUE(write_file_atomic(etc + "/sources.list.d/debian.sources",
                                "Types: deb\nURIs: http://mirror.example/debian\n"
                                "Suites: bookworm bookworm-updates\nComponents: main\n"
                                "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
                  .ok());
  ASSERT_TRUE(write_file_atomic(etc + "/sources.list",
                                "deb http://mirror.example/debian-security bookworm-security main\n")
                  .ok());
  auto text = host_debian_sources_list("bookworm", etc);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(*text,
            "deb http://mirror.example/debian-security bookworm-security main\n"
            "deb http://mirror.example/debian bookworm main\n"
            "deb http://mirror.example/debian bookworm-updates main\n");
}

}  // namespace
}  // namespace sbx::image
