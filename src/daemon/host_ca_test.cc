#include "daemon/host_ca.h"

#include <gtest/gtest.h>

#include <map>

#include "base/files.h"

namespace sbx::daemon {
namespace {

std::string cert(char fill) {
  return "-----BEGIN CERTIFICATE-----\n" + std::string(64, fill) + "\n" + std::string(20, fill) +
         "\n-----END CERTIFICATE-----\n";
}

class HostCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-hostca");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string file(const std::string& name, const std::string& text) {
    std::string p = dir_->path() + "/" + name;
    EXPECT_TRUE(write_file_atomic(p, text).ok());
    return p;
  }
  HostCaSources sources(std::map<std::string, std::string> env,
                        std::map<std::string, std::string> tools) {
    HostCaSources s;
    s.system_bundle = dir_->path() + "/system.crt";
    s.home = dir_->path() + "/home";
    s.system_pip_conf = dir_->path() + "/etc-pip.conf";
    s.getenv = [env](const std::string& k) -> std::optional<std::string> {
      auto it = env.find(k);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    s.query = [tools](const std::vector<std::string>& argv) -> std::optional<std::string> {
      auto it = tools.find(argv[0]);
      if (it == tools.end()) return std::nullopt;
      return it->second;
    };
    return s;
  }
  std::optional<TempDir> dir_;
};

TEST_F(HostCaTest, FindsEveryToolsExtraCaFileOnce) {
  file("system.crt", cert('A'));
  auto node = file("node.pem", cert('N'));
  auto npm = file("npm.pem", cert('P'));
  auto git = file("git.pem", cert('G'));
  auto pip = file("pip.pem", cert('I'));
  ASSERT_TRUE(make_dirs(dir_->path() + "/home/.config/pip").ok());
  file("home/.config/pip/pip.conf", "[global]\ncert = " + pip + "\n");
  auto files = host_ca_files(sources({{"NODE_EXTRA_CA_CERTS", node}, {"SSL_CERT_FILE", node}},
                                     {{"npm", npm + "\n"}, {"git", git + "\n"}}));
  std::vector<std::string> want = {dir_->path() + "/system.crt", node, npm, git, pip};
  EXPECT_EQ(files, want);
}

TEST_F(HostCaTest, SkipsUnsetMissingAndRelativePaths) {
  file("system.crt", cert('A'));
  auto files = host_ca_files(
      sources({{"NODE_EXTRA_CA_CERTS", dir_->path() + "/gone.pem"}, {"PIP_CERT", "relative.pem"}},
              {{"npm", "null\n"}, {"git", ""}}));
  EXPECT_EQ(files, std::vector<std::string>{dir_->path() + "/system.crt"});
}

TEST_F(HostCaTest, BundleHoldsEachCertificateOnce) {
  auto a = file("a.crt", cert('A') + "junk between\n" + cert('B'));
  auto b = file("b.crt", cert('B') + cert('C'));
  std::string bundle = host_ca_bundle({a, b});
  EXPECT_EQ(split_pem_certificates(bundle).size(), 3u);
  EXPECT_EQ(bundle.find("junk"), std::string::npos);
  EXPECT_EQ(bundle, cert('A') + cert('B') + cert('C'));
}

TEST_F(HostCaTest, SplitIsBoundedAndIgnoresUnterminated) {
  std::string many;
  for (int i = 0; i < 10; ++i) many += cert('X');
  EXPECT_EQ(split_pem_certificates(many, 4).size(), 4u);
  EXPECT_TRUE(split_pem_certificates("-----BEGIN CERTIFICATE-----\nabc").empty());
}

TEST(PipConf, ReadsCertKey) {
  EXPECT_EQ(pip_conf_cert("[global]\nindex-url = x\ncert = /etc/ca.pem\n"), "/etc/ca.pem");
  EXPECT_EQ(pip_conf_cert("[global]\nclient-cert = /x\n"), std::nullopt);
}

}  // namespace
}  // namespace sbx::daemon
