#include "image/template_import.h"

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"
#include "base/strings.h"
#include "image/boot_layer.h"
#include "image/image_test_archives.h"
#include "image/template_cache.h"
#include "image/template_catalog.h"

namespace sbx::image {
namespace {

using namespace testing;

// Runs one debugfs request against an image and returns its stdout.
std::string debugfs(const std::string& image, const std::string& request) {
  auto d = TempDir::create("dbg");
  std::string out = d->path() + "/out";
  std::string cmd = "debugfs -R " + shell_quote(request) + " " + shell_quote(image) + " >" +
                    shell_quote(out) + " 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto text = read_file(out);
  return text ? *text : "";
}

// "Mode:  0640" / "User:  1234   Group:  5678" lines of debugfs's stat.
std::string attrs(const std::string& image, const std::string& path) {
  std::string st = debugfs(image, "stat \"" + path + "\"");
  std::string mode, user, group, type;
  auto words = split(st, ' ');
  std::vector<std::string> w;
  for (auto& x : words)
    for (auto& y : split(x, '\n'))
      if (!trim(y).empty()) w.push_back(trim(y));
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    if (w[i] == "Type:" && type.empty()) type = w[i + 1];
    if (w[i] == "Mode:" && mode.empty()) mode = w[i + 1];
    if (w[i] == "User:" && user.empty()) user = w[i + 1];
    if (w[i] == "Group:" && group.empty()) group = w[i + 1];
  }
  if (type.empty()) return "missing";
  return type + " " + mode + " " + user + ":" + group;
}

struct Fixture {
  TempDir dir;
  std::string archive;
  std::string cache;
};

Fixture fixture(const std::string& bytes) {
  auto d = TempDir::create("import");
  EXPECT_TRUE(d);
  Fixture f{std::move(*d), "", ""};
  f.archive = f.dir.path() + "/image.tar";
  f.cache = f.dir.path() + "/cache";
  EXPECT_TRUE(write_file_atomic(f.archive, bytes));
  return f;
}

TemplateImportOptions options(const Fixture& f, const std::string& tag = "") {
  TemplateImportOptions o;
  o.archive = f.archive;
  o.tag = tag;
  o.cache_dir = f.cache;
  o.min_disk_bytes = 64ULL << 20;  // small: tests need no 20 GiB image
  return o;
}

TEST(TemplateImport, ImageHoldsExactlyWhatTheLayersSay) {
  auto f = fixture(docker_archive({base_layer(), top_layer()}));
  auto t = import_image_template(options(f, "mine"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->name, "mine");
  EXPECT_EQ(t->format, "docker");
  EXPECT_EQ(t->config.user, "1000:1000");
  EXPECT_EQ(t->config.working_dir, "/work");
  ASSERT_TRUE(path_exists(t->image));
  const std::string& img = t->image;
  // Contents, owners and modes (set by debugfs; the tree was staged by
  // whoever ran the import).
  EXPECT_EQ(debugfs(img, "cat /keep/a.txt"), "one\n");
  EXPECT_EQ(debugfs(img, "cat /opq/new.txt"), "new\n");
  EXPECT_EQ(attrs(img, "/keep"), "directory 0750 1234:5678");
  EXPECT_EQ(attrs(img, "/keep/a.txt"), "regular 0640 1234:5678");
  EXPECT_EQ(attrs(img, "/data/target.txt"), "regular 0600 42:43");
  EXPECT_EQ(attrs(img, "/usr/bin/su"), "regular 04755 0:0");
  EXPECT_EQ(attrs(img, "/opq"), "directory 0711 0:0");
  EXPECT_EQ(attrs(img, "/dev/null"), "character 0666 0:0");
  EXPECT_EQ(attrs(img, "/link").substr(0, 8), "symlink ");
  EXPECT_NE(debugfs(img, "stat /link").find("data/target.txt"), std::string::npos);
  // Whiteouts and the opaque directory removed lower files.
  EXPECT_EQ(attrs(img, "/del.txt"), "missing");
  EXPECT_EQ(attrs(img, "/gone"), "missing");
  EXPECT_EQ(attrs(img, "/opq/old.txt"), "missing");
  EXPECT_EQ(attrs(img, "/opq/sub"), "missing");
  // The hard link is one inode with two names.
  std::string a = debugfs(img, "stat /data/hard"), b = debugfs(img, "stat /data/target.txt");
  EXPECT_EQ(a.substr(0, a.find("Type")), b.substr(0, b.find("Type")));
  EXPECT_NE(a.find("Links: 2"), std::string::npos);
  // The listing of / is the layers' top level plus the boot layer's.
  std::string ls = debugfs(img, "ls -p /");
  for (const char* n : {"etc", "keep", "opq", "data", "link", "abs", "usr", "dev", "proc", "sys",
                        "run", "tmp", "home"})
    EXPECT_NE(ls.find(std::string("/") + n + "/"), std::string::npos) << n;
  EXPECT_EQ(ls.find("/del.txt/"), std::string::npos);
  // Boot layer: the agent user, its home, DNS through the agent.
  EXPECT_NE(debugfs(img, "cat /etc/passwd").find("agent:x:1000:1000:sbx agent:/home/agent:/bin/sh"),
            std::string::npos);
  EXPECT_EQ(attrs(img, "/home/agent"), "directory 0755 1000:1000");
  EXPECT_EQ(attrs(img, "/tmp"), "directory 01777 0:0");
  EXPECT_EQ(debugfs(img, "cat /etc/resolv.conf"), "nameserver 127.0.0.1\n");
}

TEST(TemplateImport, OciLayoutLoadsAndIsFoundByName) {
  auto f = fixture(oci_archive({base_layer(), top_layer()}));
  auto t = import_image_template(options(f));  // the archive's own tag
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->name, "test/oci:1");
  EXPECT_EQ(t->format, "oci");
  EXPECT_EQ(debugfs(t->image, "cat /keep/b.txt"), "two\n");
  auto found = find_loaded_template(f.cache, "test/oci:1");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->id, t->id);
  EXPECT_EQ(found->config.env.size(), 2u);
  // One catalog: the loaded image is an entry like any layer, so
  // `template ls` lists it and `create -t` finds it.
  auto entry = find_template(list_templates(templates_dir(f.cache)), "test/oci:1");
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->meta.origin, TemplateOrigin::kLoaded);
  EXPECT_EQ(entry->meta.format, "raw");
  EXPECT_EQ(entry->image_path(), t->image);
  EXPECT_EQ(entry->meta.working_dir, "/work");
  EXPECT_EQ(entry->meta.env.size(), 2u);
  EXPECT_FALSE(path_exists(t->dir + "/template.json"));
  // Loading again reuses it.
  auto again = import_image_template(options(f));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->reused);
  // The same image under another name is a template of its own.
  auto other = import_image_template(options(f, "alias"));
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_FALSE(other->reused);
  EXPECT_NE(other->dir, t->dir);
  EXPECT_TRUE(find_loaded_template(f.cache, "test/oci:1"));
}

TEST(TemplateImport, DigestMismatchStoresNothing) {
  std::string cfg = image_config({base_layer(), top_layer()});
  TarWriter other;
  other.file("x", "not the promised layer");
  auto f = fixture(docker_archive({base_layer(), other.finish()}, "t:1", cfg));
  auto t = import_image_template(options(f));
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("diff_id"), std::string::npos) << t.error().message;
  auto left = list_dir(templates_dir(f.cache));
  ASSERT_TRUE(left);
  for (auto& n : *left) EXPECT_EQ(n[0], '.') << "stored after a failed load: " << n;
  for (auto& n : *left) EXPECT_FALSE(starts_with(n, ".load-")) << "work dir left behind: " << n;
}

TEST(TemplateImport, PathTraversalStoresNothing) {
  TarWriter evil;
  evil.file("../../../escape.txt", "x");
  std::string l = evil.finish();
  auto f = fixture(docker_archive({l}));
  auto t = import_image_template(options(f));
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find(".."), std::string::npos) << t.error().message;
  EXPECT_FALSE(find_loaded_template(f.cache, "test/image:1"));
}

TEST(TemplateImport, NameHeldByAnotherImageIsAConflict) {
  auto f = fixture(docker_archive({base_layer()}));
  ASSERT_TRUE(import_image_template(options(f, "same")));
  ASSERT_TRUE(write_file_atomic(f.archive, docker_archive({base_layer(), top_layer()})));
  auto t = import_image_template(options(f, "same"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, kConflict);
  EXPECT_NE(t.error().message.find("sbx template rm same"), std::string::npos);
}

TEST(TemplateImport, InsufficientSpaceIsRefusedFirst) {
  auto f = fixture(docker_archive({base_layer()}));
  auto o = options(f, "big");
  o.extra_free_bytes = 1ULL << 60;  // more than any disk has
  auto t = import_image_template(o);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, kInsufficientStorage);
  EXPECT_NE(t.error().message.find("free disk space"), std::string::npos);
}

TEST(TemplateImport, RefusesBadNames) {
  auto f = fixture(docker_archive({base_layer()}));
  auto t = import_image_template(options(f, "../x"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, kBadRequest);
}

TEST(BootLayer, AddsAgentWithFreeIdsAndGroups) {
  BootLayerInput in;
  in.passwd = "root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n";
  in.group = "root:x:0:\nnode:x:1000:\nsudo:x:27:alice\n";
  auto a = add_agent_account(in);
  EXPECT_EQ(a.uid, 1001u);
  EXPECT_EQ(a.gid, 1001u);
  EXPECT_NE(a.passwd.find("agent:x:1001:1001:"), std::string::npos);
  EXPECT_NE(a.group.find("sudo:x:27:alice,agent"), std::string::npos);
  EXPECT_NE(a.passwd.find("node:x:1000"), std::string::npos);
  // An existing agent user is kept.
  in.passwd += "agent:x:1500:1500::/home/agent:/bin/bash\n";
  EXPECT_EQ(add_agent_account(in).uid, 1500u);
}

}  // namespace
}  // namespace sbx::image
