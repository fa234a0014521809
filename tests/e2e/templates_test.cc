// Templates on real VMs: a sandbox saved as a layer and a new sandbox made
// from it (a file and a dpkg-installed package survive), `template rm` of a
// template in use refused, a layer's size against its parent, an agent
// layer built from a kit (the test kit, SBX_TEST_KITS=1) with its progress
// on the terminal and its cache, the kit's entry command via `sbx run`, and
// the host's extra CA (named by NODE_EXTRA_CA_CERTS in sandboxd's
// environment, made by this test) in the guest's trust store; a template
// written to an archive (`save -o`), removed and loaded back; and a loaded
// container image found by `-t`, whose User, WorkingDir and Env sessions get.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/strings.h"
#include "harness/sandbox_suite.h"
#include "image/image_test_archives.h"

namespace sbx::testing {
namespace {

// The test's own CA and a server certificate it signed; never the host's.
struct TestCa {
  TempDir dir;
  std::string ca, leaf;
};

TestCa& test_ca() {
  static TestCa* ca = [] {
    auto d = TempDir::create("sbx-test-ca");
    if (!d) abort();
    auto* t = new TestCa{std::move(*d), "", ""};
    const std::string& p = t->dir.path();
    t->ca = p + "/ca.pem";
    t->leaf = p + "/leaf.pem";
    auto r = run({"sh", "-ec",
                  "cd " + p +
                      "\nopenssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
                      "-days 2 -subj '/CN=sbx test CA' 2>/dev/null\n"
                      "openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr "
                      "-subj '/CN=test.sbx.invalid' 2>/dev/null\n"
                      "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
                      "-out leaf.pem -days 2 2>/dev/null\n"});
    if (r.code != 0) fprintf(stderr, "making the test CA failed: %s\n", r.all().c_str());
    return t;
  }();
  return *ca;
}

class TemplatesTest : public SandboxSuite<TemplatesTest> {
 public:
  static SandboxOptions options() {
    SandboxOptions o;
    o.name = "tpl";
    o.env = {{"SBX_TEST_KITS", "1"}, {"NODE_EXTRA_CA_CERTS", test_ca().ca}};
    return o;
  }
};

// Templates live in the shared cache: tags of this run only.
const std::string kTag = "rt:" + std::to_string(::getpid());
const std::string kArchiveTag = "arc:" + std::to_string(::getpid());
const std::string kImageTag = "img/test:" + std::to_string(::getpid());

std::string origin_of(const std::string& json, const std::string& tag) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_array()) return "";
  for (auto& t : j)
    if (t.value("tag", "") == tag) return t.value("origin", "");
  return "";
}

// A container image made of the host's own dash and the libraries it needs
// (no coreutils: the checks use shell builtins), a user `tester`, and a
// config naming that user, a working directory and an environment.
std::string minimal_image_archive(const std::string& tag) {
  image::TarWriter w;
  auto add = [&](const std::string& host, const std::string& path) {
    auto real = run({"readlink", "-f", host});
    auto bytes = read_file(trim(real.out));
    if (!bytes) return false;
    w.file(path, *bytes, {0755, 0, 0});
    return true;
  };
  for (const char* d :
       {"bin", "lib", "lib/x86_64-linux-gnu", "lib64", "etc", "home", "root", "srv"})
    w.dir(d);
  w.dir("home/tester", {0755, 1234, 1234});
  w.dir("srv/app", {0755, 1234, 1234});
  if (!add("/bin/dash", "bin/sh") ||
      !add("/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6") ||
      !add("/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"))
    return "";
  w.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ntester:x:1234:1234::/home/tester:/bin/sh\n");
  w.file("etc/group", "root:x:0:\ntester:x:1234:\n");
  std::string layer = w.finish();
  nlohmann::json cfg = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config",
       {{"User", "tester"},
        {"Env", {"PATH=/bin", "GREETING=hello-from-image"}},
        {"WorkingDir", "/srv/app"}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {image::testing::digest_of(layer)}}}}};
  return image::testing::docker_archive({layer}, tag, cfg.dump());
}

uint64_t template_size(const std::string& json, const std::string& tag) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_array()) return 0;
  for (auto& t : j)
    if (t.value("tag", "") == tag) return t.value("size_bytes", uint64_t{0});
  return 0;
}

TEST_F(TemplatesTest, HostExtraCaIsTrustedInTheGuest) {
  // The leaf is in the workspace, which the guest sees at the same path.
  std::string leaf = ws() + "/leaf.pem";
  ASSERT_TRUE(write_file_atomic(leaf, *read_file(test_ca().leaf)).ok());
  auto v = guest("openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt " + leaf);
  EXPECT_EQ(v.code, 0) << v.all();
  EXPECT_NE(v.out.find(": OK"), std::string::npos) << v.all();
  // Node (and so npm) is pointed at the same bundle in login shells.
  auto n = guest("cat /etc/profile.d/sbx-host-ca.sh");
  EXPECT_NE(n.out.find("NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"), std::string::npos)
      << n.all();
  // With --no-host-ca the same certificate is not trusted.
  auto c = sbx({"create", "--name", "noca", "--memory", "512m", "--no-host-ca", "shell", ws()});
  ASSERT_EQ(c.code, 0) << c.all();
  auto v2 = guest("openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt " + leaf, "noca");
  EXPECT_NE(v2.code, 0) << v2.all();
  EXPECT_EQ(sbx({"rm", "-f", "noca"}).code, 0);
}

TEST_F(TemplatesTest, SaveThenCreateKeepsFilesAndPackages) {
  auto w = guest(
      "set -e; echo kept-by-save > /opt/sbx-marker\n"
      "mkdir -p /tmp/p/DEBIAN /tmp/p/usr/share/sbx-rt\n"
      "printf 'Package: sbx-rt-pkg\\nVersion: 2.0\\nArchitecture: all\\n"
      "Maintainer: t <t@example.invalid>\\nDescription: round trip\\n' > /tmp/p/DEBIAN/control\n"
      "echo payload > /tmp/p/usr/share/sbx-rt/payload\n"
      "dpkg-deb --build /tmp/p /tmp/p.deb >/dev/null && dpkg -i /tmp/p.deb >/dev/null\n");
  ASSERT_EQ(w.code, 0) << w.all();
  // Running: without --stop (and no terminal to ask on) it is refused.
  auto refused = sbx({"template", "save", "tpl", kTag});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("--stop"), std::string::npos) << refused.all();
  auto s = sbx({"template", "save", "tpl", kTag, "--stop"});
  ASSERT_EQ(s.code, 0) << s.all();
  EXPECT_NE(s.err.find("credentials"), std::string::npos) << s.all();  // the warning
  auto c = sbx({"create", "--name", "rt2", "--memory", "512m", "-t", kTag, "shell", ws()});
  ASSERT_EQ(c.code, 0) << c.all();
  auto r = guest(
      "cat /opt/sbx-marker; dpkg-query -W -f='${Version}\\n' sbx-rt-pkg; "
      "cat /usr/share/sbx-rt/payload",
      "rt2");
  EXPECT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out, "kept-by-save\n2.0\npayload\n");
  // The alias saves too, and says its current name in its help.
  auto help = sbx({"save", "--help"});
  EXPECT_NE(help.out.find("template save"), std::string::npos) << help.all();
}

TEST_F(TemplatesTest, LayerIsFarSmallerThanItsParent) {
  auto ls = sbx({"template", "ls", "--json"});
  ASSERT_EQ(ls.code, 0) << ls.all();
  uint64_t layer = template_size(ls.out, kTag), shell = template_size(ls.out, "shell");
  ASSERT_GT(layer, 0u) << ls.out;
  ASSERT_GT(shell, 0u) << ls.out;
  EXPECT_LT(layer * 10, shell) << "layer " << layer << " vs parent " << shell;
  auto table = sbx({"template", "ls"});
  EXPECT_NE(table.out.find(kTag), std::string::npos) << table.all();
  EXPECT_NE(table.out.find("rt2"), std::string::npos) << table.all();  // USED BY
}

TEST_F(TemplatesTest, RemovingATemplateInUseIsRefused) {
  auto rm = sbx({"template", "rm", kTag});
  EXPECT_NE(rm.code, 0);
  EXPECT_NE(rm.err.find("in use by sandbox rt2"), std::string::npos) << rm.all();
  auto shell = sbx({"template", "rm", "shell"});
  EXPECT_NE(shell.code, 0);
  ASSERT_EQ(sbx({"rm", "-f", "rt2"}).code, 0);
  auto rm2 = sbx({"template", "rm", kTag});
  EXPECT_EQ(rm2.code, 0) << rm2.all();
  auto gone = sbx({"template", "inspect", kTag});
  EXPECT_NE(gone.code, 0);
  EXPECT_NE(gone.err.find("not found"), std::string::npos) << gone.all();
}

TEST_F(TemplatesTest, SavedToAnArchiveRemovedAndLoadedBackKeepsAFile) {
  auto w = guest("echo kept-by-archive > /opt/sbx-archive-marker");
  ASSERT_EQ(w.code, 0) << w.all();
  std::string archive = env().root() + "/saved.tar";
  auto s = sbx({"template", "save", "tpl", kArchiveTag, "--stop", "-o", archive});
  ASSERT_EQ(s.code, 0) << s.all();
  ASSERT_TRUE(path_exists(archive)) << s.all();
  // A plain tar: the metadata first, then the flattened image.
  auto list = run({"tar", "-tf", archive});
  EXPECT_EQ(list.out, "sbx-template.meta\nrootfs.qcow2\n") << list.all();
  ASSERT_EQ(sbx({"template", "rm", kArchiveTag}).code, 0);
  auto gone = sbx({"template", "inspect", kArchiveTag});
  EXPECT_NE(gone.code, 0) << gone.all();

  auto l = sbx({"template", "load", archive});  // under the tag it was saved as
  ASSERT_EQ(l.code, 0) << l.all();
  EXPECT_NE(l.out.find("Loaded template '" + kArchiveTag + "'"), std::string::npos) << l.all();
  auto ls = sbx({"template", "ls", "--json"});
  EXPECT_EQ(origin_of(ls.out, kArchiveTag), "loaded") << ls.out;
  auto c = sbx({"create", "--name", "arc", "--memory", "512m", "-t", kArchiveTag, "shell", ws()});
  ASSERT_EQ(c.code, 0) << c.all();
  auto r = guest("cat /opt/sbx-archive-marker", "arc");
  EXPECT_EQ(r.out, "kept-by-archive\n") << r.all();
  // In use: refused; then removed with its sandbox gone.
  EXPECT_NE(sbx({"template", "rm", kArchiveTag}).code, 0);
  EXPECT_EQ(sbx({"rm", "-f", "arc"}).code, 0);
  EXPECT_EQ(sbx({"template", "rm", kArchiveTag}).code, 0);
}

TEST_F(TemplatesTest, LoadedImageIsFoundByTagAndSessionsGetItsUserWorkdirAndEnv) {
  std::string bytes = minimal_image_archive(kImageTag);
  ASSERT_FALSE(bytes.empty()) << "could not read the host's dash and libc";
  std::string archive = env().root() + "/image.tar";
  ASSERT_TRUE(write_file_atomic(archive, bytes).ok());
  auto l = sbx({"template", "load", archive});
  ASSERT_EQ(l.code, 0) << l.all();
  auto info = sbx({"template", "inspect", kImageTag});
  EXPECT_EQ(info.code, 0) << info.all();
  EXPECT_NE(info.out.find("loaded"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("/srv/app"), std::string::npos) << info.out;
  auto c = sbx({"create", "--name", "img", "--memory", "512m", "--no-host-ca", "-t", kImageTag,
                "shell", ws()});
  ASSERT_EQ(c.code, 0) << c.all();
  // No -u, -w or -e: the image's User, WorkingDir and Env.
  auto e = sbx({"exec", "img", "sh", "-c", "echo $USER; pwd; echo $GREETING"});
  EXPECT_EQ(e.code, 0) << e.all();
  EXPECT_EQ(e.out, "tester\n/srv/app\nhello-from-image\n") << e.all();
  // The session's own flags win; -e before SANDBOX keeps the command whole.
  auto o = sbx({"exec", "-e", "GREETING=from-flag", "-u", "root", "-w", "/", "img", "sh", "-c",
                "echo $USER; pwd; echo $GREETING"});
  EXPECT_EQ(o.code, 0) << o.all();
  EXPECT_EQ(o.out, "root\n/\nfrom-flag\n") << o.all();
  EXPECT_EQ(sbx({"rm", "-f", "img"}).code, 0);
  EXPECT_EQ(sbx({"template", "rm", kImageTag}).code, 0);
}

TEST_F(TemplatesTest, KitLayerIsBuiltWithProgressCachedAndRunsItsEntry) {
  // The layer may be cached by an earlier run: remove it so this run
  // builds it (refused only while some sandbox uses it).
  (void)sbx({"template", "rm", "sbx-test"});
  std::string ws2 = env().make_workspace("kitws");
  auto c = sbx({"create", "--memory", "1g", "sbx-test", ws2});
  ASSERT_EQ(c.code, 0) << c.all();
  // The build's stages reached this terminal (stderr), not only the log.
  EXPECT_NE(c.err.find("Building template 'sbx-test'"), std::string::npos) << c.all();
  EXPECT_NE(c.err.find("[5/6] dpkg-deb"), std::string::npos) << c.all();
  auto tool =
      guest("sbx-test-tool hi; cat /home/*/.sbx-test-kit 2>/dev/null || cat /root/.sbx-test-kit",
            "sbx-test-kitws");
  EXPECT_EQ(tool.code, 0) << tool.all();
  EXPECT_NE(tool.out.find("sbx-test-tool 1.0 hi"), std::string::npos) << tool.all();
  EXPECT_NE(tool.out.find("from the kit"), std::string::npos) << tool.all();
  // The build sandbox is gone; the layer is listed over shell.
  auto ls = sbx({"ls", "-q"});
  EXPECT_EQ(ls.out.find("build-"), std::string::npos) << ls.all();
  auto info = sbx({"template", "inspect", "--json", "sbx-test"});
  ASSERT_EQ(info.code, 0) << info.all();
  auto j = nlohmann::json::parse(info.out, nullptr, false);
  EXPECT_EQ(j.value("parent", ""), "shell") << info.out;
  EXPECT_EQ(j.value("origin", ""), "built") << info.out;
  // `sbx run AGENT PATH -- ARGS` on an existing AGENT-DIR runs the entry.
  auto run1 = sbx({"run", "sbx-test", ws2, "--", "one", "two"});
  EXPECT_EQ(run1.code, 0) << run1.all();
  EXPECT_NE(run1.out.find("sbx-test-tool 1.0 --entry one two"), std::string::npos) << run1.all();
  // A second sandbox of the kit reuses the cached layer.
  std::string ws3 = env().make_workspace("kitws3");
  auto c2 = sbx({"create", "--memory", "512m", "sbx-test", ws3});
  ASSERT_EQ(c2.code, 0) << c2.all();
  EXPECT_EQ(c2.err.find("Building template"), std::string::npos) << c2.all();
}

}  // namespace
}  // namespace sbx::testing
