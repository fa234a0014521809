#include "net/cert_authority.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "net/address.h"

namespace sbx::net {

namespace {

std::string ssl_error(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown OpenSSL error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return what + ": " + buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<size_t>(n));
}

std::string key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  std::string out(p, static_cast<size_t>(n));
  OPENSSL_cleanse(p, static_cast<size_t>(n));
  return out;
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A fresh certificate shell: random serial, validity, subject CN.
X509Ptr new_cert(const std::string& cn, long not_before_s, long not_after_s) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after_s);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("sbx"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

Result<void> check_private_mode(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return err("cannot stat " + path);
  if (!S_ISREG(st.st_mode)) return err(path + " is not a regular file");
  if (st.st_uid != ::getuid())
    return err(path + " belongs to another user; remove it to make a new CA");
  if (st.st_mode & 077)
    return err(path + " is readable by others (mode " + std::to_string(st.st_mode & 0777) +
               " octal " +
               [&] {
                 char b[8];
                 snprintf(b, sizeof b, "%03o", st.st_mode & 0777);
                 return std::string(b);
               }() +
               "); fix it with 'chmod 600 " + path + "'");
  return {};
}

// The proxy speaks HTTP/1.1 inside the tunnel: pick it when offered, never h2.
int select_http1(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                 unsigned int inlen, void*) {
  static const unsigned char kHttp1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* sel = nullptr;
  if (SSL_select_next_proto(&sel, outlen, kHttp1, sizeof kHttp1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

CertAuthority::~CertAuthority() {
  EVP_PKEY_free(ca_key_);
  X509_free(ca_cert_);
  EVP_PKEY_free(leaf_key_);
}

Result<std::unique_ptr<CertAuthority>> CertAuthority::load_or_create(const std::string& dir) {
  if (auto r = make_dirs(dir, 0700); !r) return r.error().wrap("CA directory");
  std::string key_path = dir + "/" + kKeyFile, cert_path = dir + "/" + kCertFile;
  bool have_key = path_exists(key_path), have_cert = path_exists(cert_path);
  if (have_key != have_cert)
    return err("the sbx CA in " + dir + " is incomplete (" + (have_key ? kCertFile : kKeyFile) +
               " is missing); remove " + dir +
               " to make a new one (sandboxes then need a restart)");
  std::unique_ptr<CertAuthority> ca(new CertAuthority());
  ca->dir_ = dir;
  if (!have_key) {
    KeyPtr key(EVP_EC_gen("P-256"));
    if (!key) return err(ssl_error("make the CA key"));
    char host[256] = "localhost";
    (void)gethostname(host, sizeof host - 1);
    X509Ptr cert =
        new_cert("sbx egress proxy CA (" + std::string(host) + ")", -3600, 10L * 365 * 24 * 3600);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    X509_set_pubkey(cert.get(), key.get());
    if (!add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash") ||
        X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
      return err(ssl_error("make the CA certificate"));
    // Key first, 0600 from its first byte; the certificate's presence marks
    // a complete CA.
    std::string key_pem = key_to_pem(key.get());
    auto w = write_file_atomic(key_path, key_pem, 0600);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    if (!w) return w.error().wrap("write CA key");
    if (auto c = write_file_atomic(cert_path, to_pem(cert.get()), 0644); !c)
      return c.error().wrap("write CA certificate");
  }
  if (auto m = check_private_mode(key_path); !m) return m.error().wrap("sbx CA key");
  auto key_pem = read_file(key_path);
  if (!key_pem) return key_pem.error().wrap("read CA key");
  auto cert_pem = read_file(cert_path);
  if (!cert_pem) return cert_pem.error().wrap("read CA certificate");
  BioPtr kb(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  ca->ca_key_ = PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  BioPtr cb(BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size())));
  ca->ca_cert_ = PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr);
  if (!ca->ca_key_ || !ca->ca_cert_)
    return err(ssl_error("the sbx CA in " + dir + " cannot be read; remove " + dir +
                         " to make a new one"));
  if (X509_check_private_key(ca->ca_cert_, ca->ca_key_) != 1)
    return err("the sbx CA key and certificate in " + dir + " do not match; remove " + dir +
               " to make a new one");
  ca->ca_pem_ = *cert_pem;
  ca->leaf_key_ = EVP_EC_gen("P-256");
  if (!ca->leaf_key_) return err(ssl_error("make the leaf key"));
  return ca;
}

size_t CertAuthority::minted() const {
  std::lock_guard l(mu_);
  return minted_;
}

Result<SslCtxPtr> CertAuthority::server_context(const std::string& host) {
  std::lock_guard l(mu_);
  if (auto it = leaves_.find(host); it != leaves_.end()) return it->second;
  auto ctx = mint(host);
  if (!ctx) return ctx.error();
  if (leaves_.size() >= kMaxLeaves) leaves_.clear();
  leaves_[host] = *ctx;
  ++minted_;
  return *ctx;
}

Result<SslCtxPtr> CertAuthority::mint(const std::string& host) {
  if (host.empty() || host.size() > 253) return err("bad host name for a certificate");
  // Leaves live 30 days; a daemon runs far shorter than that between
  // restarts, and the cache is per run.
  X509Ptr cert = new_cert(host, -3600, 30L * 24 * 3600);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert_));
  X509_set_pubkey(cert.get(), leaf_key_);
  std::string san = (parse_ip(host) ? "IP:" : "DNS:") + host;
  if (!add_ext(cert.get(), ca_cert_, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(cert.get(), ca_cert_, NID_key_usage, "critical,digitalSignature") ||
      !add_ext(cert.get(), ca_cert_, NID_ext_key_usage, "serverAuth") ||
      !add_ext(cert.get(), ca_cert_, NID_authority_key_identifier, "keyid:always") ||
      !add_ext(cert.get(), ca_cert_, NID_subject_alt_name, san.c_str()) ||
      X509_sign(cert.get(), ca_key_, EVP_sha256()) <= 0)
    return err(ssl_error("make a certificate for " + host));
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!ctx) return err(ssl_error("TLS server context"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), leaf_key_) != 1 ||
      SSL_CTX_add1_chain_cert(ctx.get(), ca_cert_) != 1)
    return err(ssl_error("TLS server context for " + host));
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_http1, nullptr);
  return ctx;
}

}  // namespace sbx::net
