// Test seam: a tiny HTTP server on a temporary unix socket that stands in
// for sandboxd, so ApiClient, ExecSession and the commands can be tested
// without VMs. Requests are served one at a time on a background thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "proto/api.h"
#include "proto/frame.h"

namespace sbx::client::testing {

/// One request as the fake daemon saw it.
struct FakeRequest {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
};

/// Answers requests with a handler that writes to the raw connection.
class FakeDaemon {
 public:
  /// Gets the request and the connection's fd; writes the whole answer.
  using Handler = std::function<void(const FakeRequest&, int fd)>;

  /// Listens on `socket_path` and serves with `handler` until destroyed.
  static Result<std::unique_ptr<FakeDaemon>> start(const std::string& socket_path,
                                                   Handler handler);
  ~FakeDaemon();

  /// Requests seen so far (copy, thread-safe).
  std::vector<FakeRequest> requests();

 private:
  FakeDaemon(Fd listener, Fd stop_read, Fd stop_write, Handler h);
  void serve();

  Fd listener_;
  Fd stop_read_, stop_write_;
  Handler handler_;
  std::mutex mu_;
  std::vector<FakeRequest> seen_;
  std::thread thread_;
};

/// Writes a complete HTTP response with a JSON body.
void respond(int fd, int status, const std::string& body);
/// Writes "101 Switching Protocols" immediately followed by `after` in the
/// same write, the case a client must not lose bytes in.
void respond_upgrade(int fd, const std::string& after);
/// Encodes a frame on the exec channel.
std::string exec_frame(proto::FrameType type, std::string_view payload);
/// Reads frames from a blocking fd until one arrives (nullopt at EOF).
std::optional<proto::Frame> read_frame(int fd, proto::FrameDecoder& dec);

}  // namespace sbx::client::testing
