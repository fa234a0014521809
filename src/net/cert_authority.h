// The per-install certificate authority that lets sandboxd terminate TLS
// for hosts with a credential rule: an ECDSA P-256 key made on first use
// (0600, beside its certificate) and leaf certificates minted per host on
// demand and cached. Only the CA certificate ever leaves the host (into
// each guest's trust store); the keys never do.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"

namespace sbx::net {

/// Owns an SSL_CTX (shared between connections; OpenSSL counts its users).
using SslCtxPtr = std::shared_ptr<SSL_CTX>;

/// The CA and its leaf cache. Thread-safe.
class CertAuthority {
 public:
  /// File names inside the CA directory.
  static constexpr const char* kKeyFile = "ca-key.pem";
  static constexpr const char* kCertFile = "ca.pem";
  /// Most cached leaves; the cache is emptied when it would grow past this.
  static constexpr size_t kMaxLeaves = 1024;

  /// Loads the CA from `dir`, or makes one there (dir 0700, key 0600, cert
  /// 0644) if neither file exists. Refuses a key readable by others, or a
  /// directory with only one of the two files, with what to do about it.
  static Result<std::unique_ptr<CertAuthority>> load_or_create(const std::string& dir);

  ~CertAuthority();
  CertAuthority(const CertAuthority&) = delete;
  CertAuthority& operator=(const CertAuthority&) = delete;

  /// The CA certificate, PEM: what guests must trust.
  const std::string& ca_pem() const { return ca_pem_; }
  /// Path of the CA certificate file.
  std::string ca_cert_path() const { return dir_ + "/" + kCertFile; }

  /// A TLS server context presenting a leaf for `host` (a DNS name or an IP
  /// literal) signed by the CA; minted on first use, then cached.
  Result<SslCtxPtr> server_context(const std::string& host);
  /// Leaves minted so far (tests: the cache works).
  size_t minted() const;

 private:
  CertAuthority() = default;
  Result<SslCtxPtr> mint(const std::string& host);

  std::string dir_;
  std::string ca_pem_;
  EVP_PKEY* ca_key_ = nullptr;
  X509* ca_cert_ = nullptr;
  EVP_PKEY* leaf_key_ = nullptr;  // one key for every leaf, made per daemon run

  mutable std::mutex mu_;
  std::map<std::string, SslCtxPtr> leaves_;
  size_t minted_ = 0;
};

}  // namespace sbx::net
