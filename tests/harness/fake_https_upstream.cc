#include "harness/fake_https_upstream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <charconv>

#include "net/cert_authority.h"
#include "net/http_parser.h"
#include "net/tls_sni.h"
#include "support/loopback_server.h"

namespace sbx::testing {
namespace {

// Bounds: a test upstream still must not grow without end on a bad client.
constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kMaxBody = 16 * 1024 * 1024;

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

// Reads from `ssl` into `buf` until it holds `want` bytes; false on EOF.
bool fill(SSL* ssl, std::string& buf, size_t want) {
  char tmp[16384];
  while (buf.size() < want) {
    int r = SSL_read(ssl, tmp, sizeof tmp);
    if (r <= 0) return false;
    buf.append(tmp, static_cast<size_t>(r));
  }
  return true;
}

}  // namespace

std::string UpstreamRequest::header(const std::string& name) const {
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    std::string line = head.substr(start, end == std::string::npos ? end : end - start);
    size_t colon = line.find(':');
    if (colon != std::string::npos && net::iequals(line.substr(0, colon), name))
      return std::string(net::trim_ows(std::string_view(line).substr(colon + 1)));
    pos = end;
  }
  return "";
}

FakeHttpsUpstream::FakeHttpsUpstream(Handler handler) : handler_(std::move(handler)) {
  if (auto d = TempDir::create("fake-upstream-ca")) dir_ = std::make_unique<TempDir>(std::move(*d));
  if (!dir_) return;
  if (auto ca = net::CertAuthority::load_or_create(dir_->path())) ca_ = std::move(*ca);
  if (!ca_) return;
  server_ = std::make_unique<LoopbackServer>([this](int fd) { serve(fd); });
}

FakeHttpsUpstream::~FakeHttpsUpstream() { server_.reset(); }

bool FakeHttpsUpstream::ok() const { return ca_ && server_ && server_->ok(); }
uint16_t FakeHttpsUpstream::port() const { return server_ ? server_->port() : 0; }
std::string FakeHttpsUpstream::ca_file() const { return ca_ ? ca_->ca_cert_path() : ""; }

std::vector<UpstreamRequest> FakeHttpsUpstream::requests() const {
  std::lock_guard l(mu_);
  return requests_;
}

void FakeHttpsUpstream::clear() {
  std::lock_guard l(mu_);
  requests_.clear();
}

std::string FakeHttpsUpstream::response(const std::string& status, const std::string& content_type,
                                        const std::string& body) {
  return "HTTP/1.1 " + status + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

void FakeHttpsUpstream::serve(int fd) {
  // Answers go out at once, as a real server's would: under Nagle a
  // response written right after TLS 1.3's session tickets waits for the
  // client's delayed ACK (~40 ms per new connection).
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char peek[16384];
  ssize_t n = ::recv(fd, peek, sizeof peek, MSG_PEEK);
  if (n <= 0) return;
  auto sni = net::extract_sni(std::string_view(peek, static_cast<size_t>(n)));
  std::string name = sni.status == net::SniStatus::kFound ? sni.host : "";
  auto ctx = ca_->server_context(name.empty() ? "localhost" : name);
  if (!ctx) return;
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx->get()));
  SSL_set_fd(ssl.get(), fd);
  if (SSL_accept(ssl.get()) != 1) return;
  std::string buf;
  for (;;) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (buf.size() > kMaxHead || !fill(ssl.get(), buf, buf.size() + 1)) return;
    }
    UpstreamRequest req;
    req.sni = name;
    req.head = buf.substr(0, end + 4);
    buf.erase(0, end + 4);
    size_t sp1 = req.head.find(' ');
    size_t sp2 = req.head.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) return;
    req.method = req.head.substr(0, sp1);
    req.path = req.head.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t length = 0;
    if (auto cl = req.header("Content-Length"); !cl.empty()) {
      auto [p, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), length);
      if (ec != std::errc() || p != cl.data() + cl.size()) return;
    }
    if (length > kMaxBody || !fill(ssl.get(), buf, length)) return;
    req.body = buf.substr(0, length);
    buf.erase(0, length);
    std::string resp = handler_(req);
    {
      std::lock_guard l(mu_);
      requests_.push_back(req);
    }
    if (SSL_write(ssl.get(), resp.data(), static_cast<int>(resp.size())) <= 0) return;
    if (req.header("Connection") == "close" ||
        resp.find("\r\nConnection: close\r\n") != std::string::npos)
      break;
  }
  SSL_shutdown(ssl.get());
}

}  // namespace sbx::testing
