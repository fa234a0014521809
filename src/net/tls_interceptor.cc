#include "net/tls_interceptor.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <climits>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "net/address.h"
#include "net/hostname.h"
#include "net/relay.h"
#include "net/tls_sni.h"

namespace sbx::net {

namespace {

using Clock = std::chrono::steady_clock;

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "connection closed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

short wanted(SSL* ssl, int r) {
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ) return POLLIN;
  if (e == SSL_ERROR_WANT_WRITE) return POLLOUT;
  return 0;
}

// Waits for `ev` on `fd` until `deadline`; false on timeout.
bool wait_for(int fd, short ev, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, ev, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return true;  // let the SSL call report it
  }
}

// Runs a handshake on a non-blocking socket until done, failed or late.
Result<void> handshake(SSL* ssl, int fd, Clock::time_point deadline) {
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl);
    if (r == 1) return {};
    short ev = wanted(ssl, r);
    if (!ev) return err(openssl_reason());
    if (!wait_for(fd, ev, deadline)) return err("timed out");
  }
}

// Writes all of `data` (error replies at the end of a connection).
void write_best_effort(SSL* ssl, int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ERR_clear_error();
    int n = SSL_write(ssl, data.data(), static_cast<int>(std::min<size_t>(data.size(), INT_MAX)));
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    short ev = wanted(ssl, n);
    if (!ev || !wait_for(fd, ev, deadline)) return;
  }
}

std::string reply(int code, const std::string& why) {
  std::string body = "sbx proxy: " + why + "\n";
  return "HTTP/1.1 " + std::to_string(code) +
         (code == 421   ? " Misdirected Request"
          : code == 502 ? " Bad Gateway"
                        : " Bad Request") +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Runs a Relay (guest stream <-> our socketpair end) on a thread; on
// destruction waits a bounded time for it to drain, then cancels it.
class BackgroundRelay {
 public:
  BackgroundRelay(ClientStream& client, Fd ours) : ours_(std::move(ours)), relay_(client, ours_) {
    thread_ = std::thread([this] {
      relay_.run();
      std::lock_guard l(mu_);
      done_ = true;
      cv_.notify_all();
    });
  }
  ~BackgroundRelay() {
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, std::chrono::seconds(5), [&] { return done_; })) relay_.cancel();
    l.unlock();
    thread_.join();
  }

 private:
  FdStream ours_;
  Relay relay_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<TlsInterceptor>> TlsInterceptor::create(CertAuthority& ca,
                                                               InterceptOptions opts) {
  std::unique_ptr<TlsInterceptor> t(new TlsInterceptor(ca, std::move(opts)));
  t->upstream_ctx_ = SSL_CTX_new(TLS_client_method());
  if (!t->upstream_ctx_) return err("TLS client context: " + openssl_reason());
  SSL_CTX_set_min_proto_version(t->upstream_ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(t->upstream_ctx_, SSL_VERIFY_PEER, nullptr);
  int ok = t->opts_.upstream_ca_file.empty()
               ? SSL_CTX_set_default_verify_paths(t->upstream_ctx_)
               : SSL_CTX_load_verify_locations(t->upstream_ctx_, t->opts_.upstream_ca_file.c_str(),
                                               nullptr);
  if (ok != 1) return err("load the trust store for upstream TLS: " + openssl_reason());
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(t->upstream_ctx_, kAlpn, sizeof kAlpn);
  return t;
}

TlsInterceptor::~TlsInterceptor() { SSL_CTX_free(upstream_ctx_); }

InterceptResult TlsInterceptor::run(ClientStream& client, std::string prefix, Fd upstream,
                                    const std::string& host, uint16_t port,
                                    std::vector<CredentialRule> rules,
                                    const OnRequest& on_request) {
  InterceptResult res;
  // 1. The ClientHello's SNI must name the tunnel's host.
  SniResult sni = extract_sni(prefix);
  char tmp[4096];
  while (sni.status == SniStatus::kNeedMore && prefix.size() < kMaxClientHello + 1024) {
    auto n = client.read(tmp, sizeof tmp);
    if (!n || *n == 0) {
      res.error = "guest closed before its TLS ClientHello";
      return res;
    }
    prefix.append(tmp, *n);
    sni = extract_sni(prefix);
  }
  if (sni.status != SniStatus::kFound) {
    res.refused = "no server name (SNI) in the TLS ClientHello for " + host +
                  "; sbx needs it to check the destination";
    return res;
  }
  auto sni_host = normalize_host(sni.host);
  if (!sni_host || *sni_host != host) {
    res.refused = "TLS server name '" + sni.host.substr(0, 255) +
                  "' does not match the CONNECT host '" + host + "' (domain fronting is refused)";
    return res;
  }

  // 2. The guest's TLS runs over a socketpair fed by a relay, so one thread
  // can poll both TLS connections and own both SSL objects.
  auto pair = socket_pair();
  if (!pair) {
    res.error = pair.error().message;
    return res;
  }
  Fd mine = std::move(pair->first);
  if (auto w = write_all(pair->second.get(), prefix); !w) {
    res.error = w.error().message;
    return res;
  }
  BackgroundRelay relay(client, std::move(pair->second));
  const int cfd = mine.get(), ufd = upstream.get();
  set_nonblocking(cfd);
  set_nonblocking(ufd);
  auto deadline = Clock::now() + opts_.handshake_timeout;

  auto ctx = ca_.server_context(host);
  if (!ctx) {
    res.error = ctx.error().message;
    return res;
  }
  SslPtr c(SSL_new(ctx->get()));
  SslPtr u(SSL_new(upstream_ctx_));
  if (!c || !u) {
    res.error = "TLS: " + openssl_reason();
    return res;
  }
  for (SSL* s : {c.get(), u.get()}) {
    SSL_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_options(s, SSL_OP_IGNORE_UNEXPECTED_EOF);
  }
  SSL_set_fd(c.get(), cfd);
  SSL_set_accept_state(c.get());
  if (auto h = handshake(c.get(), cfd, deadline); !h) {
    res.error =
        "TLS handshake with the guest failed (does it trust the sbx CA?): " + h.error().message;
    return res;
  }

  // 3. Upstream, verified against the host's trust store.
  SSL_set_fd(u.get(), ufd);
  SSL_set_connect_state(u.get());
  if (parse_ip(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(u.get()), host.c_str());
  } else {
    SSL_set_tlsext_host_name(u.get(), host.c_str());
    SSL_set1_host(u.get(), host.c_str());
  }
  if (auto h = handshake(u.get(), ufd, deadline); !h) {
    long v = SSL_get_verify_result(u.get());
    std::string why = v != X509_V_OK ? std::string("certificate verification failed: ") +
                                           X509_verify_cert_error_string(v)
                                     : h.error().message;
    res.error = "upstream TLS to " + host + ": " + why;
    write_best_effort(c.get(), cfd, reply(502, "cannot reach " + host + " securely: " + why),
                      Clock::now() + std::chrono::seconds(2));
    (void)SSL_shutdown(c.get());
    return res;
  }

  // 4. Plaintext both ways; requests go through the rewriter.
  RequestRewriter rewriter(host, port, std::move(rules));
  std::string to_up, to_client;
  bool c_eof = false, u_eof = false, refusing = false, sent_close = false;
  char buf[16 * 1024];
  for (;;) {
    bool progress = false;
    short c_ev = 0, u_ev = 0;
    if (!c_eof && !refusing && to_up.size() < opts_.buffer) {
      ERR_clear_error();
      int n = SSL_read(c.get(), buf, sizeof buf);
      if (n > 0) {
        progress = true;
        std::vector<RequestSeen> seen;
        auto out = rewriter.feed(std::string_view(buf, static_cast<size_t>(n)), seen);
        if (on_request)
          for (const auto& s : seen) on_request(s);
        if (!out) {
          refusing = true;
          res.refused = out.error().message;
          to_client += reply(out.error().code == 421 ? 421 : 400, "refused: " + res.refused);
        } else {
          to_up += *out;
        }
      } else if (short ev = wanted(c.get(), n)) {
        c_ev |= ev;
      } else {
        c_eof = progress = true;
      }
    }
    if (!to_up.empty() && !refusing) {
      ERR_clear_error();
      int n = SSL_write(u.get(), to_up.data(),
                        static_cast<int>(std::min<size_t>(to_up.size(), INT_MAX)));
      if (n > 0) {
        to_up.erase(0, static_cast<size_t>(n));
        res.bytes_up += static_cast<uint64_t>(n);
        progress = true;
      } else if (short ev = wanted(u.get(), n)) {
        u_ev |= ev;
      } else {
        res.error = "upstream write: " + openssl_reason();
        break;
      }
    }
    if (c_eof && to_up.empty() && !sent_close) {
      (void)SSL_shutdown(u.get());  // close_notify: the guest is done sending
      sent_close = progress = true;
    }
    if (!u_eof && !refusing && to_client.size() < opts_.buffer) {
      ERR_clear_error();
      int n = SSL_read(u.get(), buf, sizeof buf);
      if (n > 0) {
        to_client.append(buf, static_cast<size_t>(n));
        progress = true;
      } else if (short ev = wanted(u.get(), n)) {
        u_ev |= ev;
      } else {
        u_eof = progress = true;
      }
    }
    if (!to_client.empty()) {
      ERR_clear_error();
      int n = SSL_write(c.get(), to_client.data(),
                        static_cast<int>(std::min<size_t>(to_client.size(), INT_MAX)));
      if (n > 0) {
        to_client.erase(0, static_cast<size_t>(n));
        res.bytes_down += static_cast<uint64_t>(n);
        progress = true;
      } else if (short ev = wanted(c.get(), n)) {
        c_ev |= ev;
      } else {
        res.error = "write to the guest: " + openssl_reason();
        break;
      }
    }
    if (to_client.empty() && (refusing || u_eof)) break;
    if (progress) continue;
    pollfd fds[2] = {{c_ev ? cfd : -1, c_ev, 0}, {u_ev ? ufd : -1, u_ev, 0}};
    if (!c_ev && !u_ev) {
      res.error = "intercepted connection stalled";
      break;
    }
    int r = ::poll(fds, 2, static_cast<int>(opts_.idle_timeout.count()));
    if (r == 0) {
      res.error = "idle for " + std::to_string(opts_.idle_timeout.count() / 1000) + " s";
      break;
    }
  }
  // Best effort close_notify; then `mine` closes, the relay drains what we
  // wrote and half-closes the guest's stream.
  (void)SSL_shutdown(c.get());
  return res;
}

}  // namespace sbx::net
