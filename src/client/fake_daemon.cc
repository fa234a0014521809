#include "client/fake_daemon.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "base/strings.h"

namespace sbx::client::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;

Result<std::unique_ptr<FakeDaemon>> FakeDaemon::start(const std::string& socket_path,
                                                      Handler handler) {
  auto l = unix_listen(socket_path);
  if (!l) return l.error();
  auto p = make_pipe();
  if (!p) return p.error();
  return std::unique_ptr<FakeDaemon>(new FakeDaemon(
      std::move(*l), std::move(p->first), std::move(p->second), std::move(handler)));
}

FakeDaemon::FakeDaemon(Fd listener, Fd stop_read, Fd stop_write, Handler h)
    : listener_(std::move(listener)),
      stop_read_(std::move(stop_read)),
      stop_write_(std::move(stop_write)),
      handler_(std::move(h)) {
  thread_ = std::thread([this] { serve(); });
}

FakeDaemon::~FakeDaemon() {
  (void)write_all(stop_write_.get(), "x");
  thread_.join();
}

std::vector<FakeRequest> FakeDaemon::requests() {
  std::lock_guard lock(mu_);
  return seen_;
}

void FakeDaemon::serve() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) return;
    Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) continue;
    asio::io_context io;
    asio::local::stream_protocol::socket sock(io);
    sock.assign(asio::local::stream_protocol(), conn.release());
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    boost::beast::error_code ec;
    http::read(sock, buf, req, ec);
    if (ec) continue;
    FakeRequest fr;
    fr.method = std::string(req.method_string());
    fr.target = std::string(req.target());
    fr.body = req.body();
    for (auto& h : req) fr.headers[to_lower(std::string(h.name_string()))] = std::string(h.value());
    {
      std::lock_guard lock(mu_);
      seen_.push_back(fr);
    }
    handler_(fr, sock.native_handle());
    // The socket closes when `sock` goes out of scope.
  }
}

void respond(int fd, int status, const std::string& body) {
  std::string reason = status < 300 ? "OK" : "Error";
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                  "\r\nContent-Type: application/json\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  (void)write_all(fd, r);
}

void respond_upgrade(int fd, const std::string& after) {
  std::string r =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: sbx-exec/1\r\n\r\n" +
      after;
  (void)write_all(fd, r);
}

std::string exec_frame(proto::FrameType type, std::string_view payload) {
  std::string out;
  proto::encode_into(out, proto::kExecStreamChannel, type, payload);
  return out;
}

std::optional<proto::Frame> read_frame(int fd, proto::FrameDecoder& dec) {
  for (;;) {
    auto f = dec.next();
    if (!f) return std::nullopt;
    if (*f) return std::move(**f);
    auto chunk = read_some(fd, 65536);
    if (!chunk || chunk->empty()) return std::nullopt;
    dec.feed(*chunk);
  }
}

}  // namespace sbx::client::testing
