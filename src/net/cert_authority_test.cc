#include "net/cert_authority.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "base/files.h"

namespace sbx::net {
namespace {

int mode_of(const std::string& path) {
  struct stat st{};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// Verifies the leaf `ctx` presents against `ca_pem`, for `host`.
bool leaf_verifies(SSL_CTX* ctx, const std::string& ca_pem, const std::string& host) {
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* vctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(vctx, store, leaf, nullptr);
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(vctx), host.c_str(), 0);
  X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(vctx), X509_PURPOSE_SSL_SERVER);
  bool ok = X509_verify_cert(vctx) == 1;
  X509_STORE_CTX_free(vctx);
  X509_STORE_free(store);
  X509_free(ca);
  return ok;
}

TEST(CertAuthority, MadeOnFirstUseWithPrivateKeyAndReloaded) {
  auto dir = TempDir::create("ca");
  ASSERT_TRUE(dir.ok());
  std::string d = dir->path() + "/ca";
  auto ca = CertAuthority::load_or_create(d);
  ASSERT_TRUE(ca.ok()) << ca.error().message;
  EXPECT_EQ(mode_of(d), 0700);
  EXPECT_EQ(mode_of(d + "/ca-key.pem"), 0600);
  EXPECT_EQ(mode_of(d + "/ca.pem"), 0644);
  EXPECT_NE((*ca)->ca_pem().find("BEGIN CERTIFICATE"), std::string::npos);
  auto key = read_file(d + "/ca-key.pem");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ((*ca)->ca_pem().find("PRIVATE KEY"), std::string::npos);

  auto again = CertAuthority::load_or_create(d);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)->ca_pem(), (*ca)->ca_pem());
  EXPECT_EQ(*read_file(d + "/ca-key.pem"), *key);
}

TEST(CertAuthority, CaIsP256AndACa) {
  auto dir = TempDir::create("ca");
  auto ca = CertAuthority::load_or_create(dir->path());
  ASSERT_TRUE(ca.ok());
  BIO* bio = BIO_new_mem_buf((*ca)->ca_pem().data(), -1);
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ca(cert), 1);
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  char group[64] = {};
  size_t len = 0;
  EXPECT_EQ(EVP_PKEY_get_group_name(pub, group, sizeof group, &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  X509_free(cert);
}

TEST(CertAuthority, KeyReadableByOthersIsRefused) {
  auto dir = TempDir::create("ca");
  ASSERT_TRUE(CertAuthority::load_or_create(dir->path()).ok());
  ASSERT_EQ(::chmod((dir->path() + "/ca-key.pem").c_str(), 0644), 0);
  auto ca = CertAuthority::load_or_create(dir->path());
  ASSERT_FALSE(ca.ok());
  EXPECT_NE(ca.error().message.find("chmod 600"), std::string::npos) << ca.error().message;
}

TEST(CertAuthority, HalfACaIsRefused) {
  auto dir = TempDir::create("ca");
  ASSERT_TRUE(CertAuthority::load_or_create(dir->path()).ok());
  ASSERT_EQ(::unlink((dir->path() + "/ca.pem").c_str()), 0);
  auto ca = CertAuthority::load_or_create(dir->path());
  ASSERT_FALSE(ca.ok());
  EXPECT_NE(ca.error().message.find("incomplete"), std::string::npos) << ca.error().message;
}

TEST(CertAuthority, LeavesAreMintedPerHostVerifyAndAreCached) {
  auto dir = TempDir::create("ca");
  auto ca = CertAuthority::load_or_create(dir->path());
  ASSERT_TRUE(ca.ok());
  auto a = (*ca)->server_context("api.anthropic.com");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(leaf_verifies(a->get(), (*ca)->ca_pem(), "api.anthropic.com"));
  EXPECT_FALSE(leaf_verifies(a->get(), (*ca)->ca_pem(), "api.anthropic.com.evil.test"));
  auto again = (*ca)->server_context("api.anthropic.com");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(a->get(), again->get());
  EXPECT_EQ((*ca)->minted(), 1u);
  auto b = (*ca)->server_context("api.openai.com");
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->get(), b->get());
  EXPECT_EQ((*ca)->minted(), 2u);
  EXPECT_TRUE(leaf_verifies(b->get(), (*ca)->ca_pem(), "api.openai.com"));

  // Another install's CA does not vouch for these leaves.
  auto other_dir = TempDir::create("ca2");
  auto other = CertAuthority::load_or_create(other_dir->path());
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(leaf_verifies(a->get(), (*other)->ca_pem(), "api.anthropic.com"));
}

}  // namespace
}  // namespace sbx::net
