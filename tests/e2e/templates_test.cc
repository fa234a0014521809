// Templates on real VMs: a sandbox saved as a layer and a new sandbox made
// from it (a file and a dpkg-installed package survive), `template rm` of a
// template in use refused, a layer's size against its parent, an agent
// layer built from a kit (the test kit, SBX_TEST_KITS=1) with its progress
// on the terminal and its cache, the kit's entry command via `sbx run`, and
// the host's extra CA (named by NODE_EXTRA_CA_CERTS in sandboxd's
// environment, made by this test) in the guest's trust store.
#include <gtest/gtest.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "harness/sandbox_suite.h"

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

// Templates live in the shared cache: a tag of this run only.
const std::string kTag = "rt:" + std::to_string(::getpid());

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
