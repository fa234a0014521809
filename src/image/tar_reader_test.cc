#include "image/tar_reader.h"

#include <gtest/gtest.h>

#include "image/tar_writer.h"

namespace sbx::image {
namespace {

struct Read {
  std::vector<TarEntry> entries;
  std::vector<std::string> data;
  std::string error;
};

Read read_all_entries(const std::string& tar, TarLimits lim = {}) {
  Read out;
  StringSource src(tar);
  TarReader r(src, lim);
  for (;;) {
    auto e = r.next();
    if (!e) {
      out.error = e.error().message;
      return out;
    }
    if (!*e) return out;
    auto d = r.read_all(1 << 20);
    if (!d) {
      out.error = d.error().message;
      return out;
    }
    out.entries.push_back(**e);
    out.data.push_back(*d);
  }
}

// A pax 'x' header whose records are `recs`.
std::string pax_record(const std::string& key, const std::string& val) {
  std::string body = " " + key + "=" + val + "\n";
  size_t len = body.size() + 1;
  while (std::to_string(len).size() + body.size() != len) ++len;
  return std::to_string(len) + body;
}

TEST(TarReader, ReadsEntriesOfEveryKind) {
  TarWriter w;
  w.dir("./a/", {0750, 7, 8});
  w.file("./a/f.txt", "hello", {04755, 1000, 1001});
  w.symlink("a/l", "../x/y");
  w.hardlink("a/h", "./a/f.txt");
  w.chardev("dev/null", 1, 3);
  auto r = read_all_entries(w.finish());
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.entries.size(), 5u);
  EXPECT_EQ(r.entries[0].path, "a");
  EXPECT_EQ(r.entries[0].type, TarType::kDir);
  EXPECT_EQ(r.entries[0].mode, 0750u);
  EXPECT_EQ(r.entries[1].path, "a/f.txt");
  EXPECT_EQ(r.data[1], "hello");
  EXPECT_EQ(r.entries[1].mode, 04755u);
  EXPECT_EQ(r.entries[1].uid, 1000u);
  EXPECT_EQ(r.entries[1].gid, 1001u);
  EXPECT_EQ(r.entries[2].link, "../x/y");  // symlink targets stay verbatim
  EXPECT_EQ(r.entries[3].type, TarType::kHardlink);
  EXPECT_EQ(r.entries[3].link, "a/f.txt");
  EXPECT_EQ(r.entries[4].type, TarType::kCharDev);
  EXPECT_EQ(r.entries[4].dev_major, 1u);
  EXPECT_EQ(r.entries[4].dev_minor, 3u);
}

TEST(TarReader, GnuLongNamesAndPaxOverride) {
  std::string long_name = std::string(150, 'n') + "/" + std::string(120, 'm');
  TarWriter w;
  w.file(long_name, "L");
  w.raw('x', "PaxHeader", "", pax_record("path", "pax/name.txt") + pax_record("uid", "4000000"));
  w.file("short", "P");
  auto r = read_all_entries(w.finish());
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].path, long_name);
  EXPECT_EQ(r.entries[1].path, "pax/name.txt");
  EXPECT_EQ(r.entries[1].uid, 4000000u);
  EXPECT_EQ(r.data[1], "P");
}

TEST(TarReader, RefusesEscapingPaths) {
  for (std::string bad : {"../etc/passwd", "/etc/passwd", "a/../../b", "a/.."}) {
    TarWriter w;
    w.file(bad, "x");
    auto r = read_all_entries(w.finish());
    EXPECT_NE(r.error, "") << bad;
  }
  TarWriter w;
  w.hardlink("h", "../../outside");
  EXPECT_NE(read_all_entries(w.finish()).error, "");
  TarWriter p;
  p.raw('x', "PaxHeader", "", pax_record("path", "../../pax-escape"));
  p.file("innocent", "x");
  EXPECT_NE(read_all_entries(p.finish()).error.find(".."), std::string::npos);
}

TEST(TarReader, RefusesCorruptAndTruncatedArchives) {
  TarWriter w;
  w.file("f", std::string(2000, 'z'));
  std::string tar = w.finish();
  std::string bad_sum = tar;
  bad_sum[0] ^= 1;
  EXPECT_NE(read_all_entries(bad_sum).error.find("checksum"), std::string::npos);
  EXPECT_NE(read_all_entries(tar.substr(0, 1200)).error.find("truncated"), std::string::npos);
  EXPECT_NE(read_all_entries(tar.substr(0, 300)).error.find("truncated"), std::string::npos);
}

TEST(TarReader, EnforcesLimits) {
  TarWriter w;
  for (int i = 0; i < 5; ++i) w.file("f" + std::to_string(i), "");
  TarLimits lim;
  lim.max_entries = 4;
  EXPECT_NE(read_all_entries(w.finish(), lim).error.find("entries"), std::string::npos);

  TarWriter big;
  big.raw('x', "PaxHeader", "", pax_record("comment", std::string(5000, 'c')));
  big.file("f", "");
  lim = {};
  lim.max_ext_header = 4096;
  EXPECT_NE(read_all_entries(big.finish(), lim).error.find("extended header"), std::string::npos);

  lim = {};
  lim.max_path = 64;
  TarWriter deep;
  deep.file(std::string(100, 'd'), "");
  EXPECT_NE(read_all_entries(deep.finish(), lim).error.find("longer"), std::string::npos);
}

TEST(TarReader, EndsAtZeroBlocksOrEndOfStream) {
  TarWriter w;
  w.file("a", "1");
  std::string tar = w.finish();
  EXPECT_EQ(read_all_entries(tar).entries.size(), 1u);
  // Without the end blocks, a clean end of stream after an entry is fine.
  EXPECT_EQ(read_all_entries(tar.substr(0, 1024)).entries.size(), 1u);
  EXPECT_EQ(read_all_entries(tar.substr(0, 1024)).error, "");
}

TEST(TarReader, NormalisesPaths) {
  TarLimits lim;
  EXPECT_EQ(*normalize_tar_path("./a//b/./c/", lim), "a/b/c");
  EXPECT_EQ(*normalize_tar_path("./", lim), "");
  EXPECT_FALSE(normalize_tar_path("a/../b", lim));
  EXPECT_FALSE(normalize_tar_path(std::string("a\0b", 3), lim));
}

}  // namespace
}  // namespace sbx::image
