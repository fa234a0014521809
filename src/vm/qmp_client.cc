#include "vm/qmp_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace sbx::vm {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

bool json_too_deep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

Result<QmpClient> QmpClient::connect(const std::string& socket_path,
                                     milliseconds timeout,
                                     milliseconds io_timeout) {
  const auto deadline = Clock::now() + timeout;
  Error last = err("not attempted");
  for (;;) {
    auto fd = unix_connect(socket_path);
    if (fd) return handshake(std::move(*fd), io_timeout);
    last = fd.error();
    // QEMU creates the socket shortly after start; until then connect()
    // fails with ENOENT or ECONNREFUSED. Anything else fails the same way
    // each time, so retrying until the deadline is harmless.
    if (Clock::now() >= deadline)
      return last.wrap("qmp: connect timed out after " +
                       std::to_string(timeout.count()) + " ms");
    std::this_thread::sleep_for(milliseconds(20));
  }
}

Result<QmpClient> QmpClient::handshake(Fd fd, milliseconds io_timeout) {
  if (!fd) return err("qmp: invalid socket");
  // Non-blocking so that a stalled QEMU cannot hang our writes or reads.
  if (auto r = set_nonblocking(fd.get(), true); !r) return r.error();
  QmpClient c(std::move(fd), io_timeout);
  auto g = c.read_message(io_timeout);
  if (!g) return g.error().wrap("qmp: greeting");
  if (!g->has_value() || !(**g).is_object() || !(**g).contains("QMP"))
    return err("qmp: unexpected greeting");
  c.greeting_ = std::move(**g);
  auto caps = c.execute("qmp_capabilities");
  if (!caps) return caps.error();
  return c;
}

void QmpClient::remember_event(json ev) {
  events_.push_back(std::move(ev));
  while (events_.size() > kMaxEvents) events_.pop_front();
}

std::optional<json> QmpClient::last_event(std::string_view name) const {
  for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
    auto e = it->find("event");
    if (e != it->end() && e->is_string() && e->get<std::string>() == name)
      return *it;
  }
  return std::nullopt;
}

Result<std::optional<json>> QmpClient::read_message(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (json_too_deep(line, kMaxDepth))
        return err("qmp: message nested too deeply");
      json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object())
        return err("qmp: malformed message from QEMU");
      return std::optional<json>(std::move(j));
    }
    if (buf_.size() > kMaxLine)
      return err("qmp: line from QEMU exceeds " + std::to_string(kMaxLine) +
                 " bytes");
    auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                         Clock::now());
    if (left.count() < 0) left = milliseconds(0);
    pollfd p{fd_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("qmp: poll");
    }
    if (n == 0) {
      if (timeout.count() == 0) return std::optional<json>();
      return err("qmp: no reply from QEMU within " +
                 std::to_string(timeout.count()) + " ms");
    }
    char chunk[65536];
    ssize_t r = ::read(fd_.get(), chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_error("qmp: read");
    }
    if (r == 0) return err("qmp: QEMU closed the connection");
    buf_.append(chunk, static_cast<size_t>(r));
  }
}

Result<void> QmpClient::poll_events() {
  for (;;) {
    auto m = read_message(milliseconds(0));
    if (!m) return m.error();
    if (!m->has_value()) return ok();
    if ((**m).contains("event")) remember_event(std::move(**m));
  }
}

Result<json> QmpClient::execute(const std::string& cmd, json args) {
  const uint64_t id = next_id_++;
  json req = {{"execute", cmd}, {"id", id}};
  if (!args.is_null() && !(args.is_object() && args.empty()))
    req["arguments"] = std::move(args);
  std::string line = req.dump() + "\n";

  // Write with the same deadline discipline as reads (non-blocking socket).
  const auto deadline = Clock::now() + io_timeout_;
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t w = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (w > 0) {
      rest.remove_prefix(static_cast<size_t>(w));
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN)
      return errno_error("qmp " + cmd + ": send");
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return err("qmp " + cmd + ": send timed out");
    pollfd p{fd_.get(), POLLOUT, 0};
    (void)::poll(&p, 1, static_cast<int>(left.count()));
  }

  for (;;) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) left = milliseconds(1);
    auto m = read_message(left);
    if (!m) return m.error().wrap("qmp " + cmd);
    json& msg = **m;
    if (msg.contains("event")) {
      remember_event(std::move(msg));
      continue;
    }
    // Replies without our id (none expected) are ignored rather than
    // mistaken for ours.
    auto mid = msg.find("id");
    if (mid == msg.end() || !mid->is_number_unsigned() ||
        mid->get<uint64_t>() != id)
      continue;
    if (auto e = msg.find("error"); e != msg.end()) {
      std::string cls = e->is_object() ? e->value("class", "") : "";
      std::string desc = e->is_object() ? e->value("desc", "") : "";
      return err("qmp " + cmd + ": " + desc + (cls.empty() ? "" : " (" + cls + ")"));
    }
    if (auto r = msg.find("return"); r != msg.end()) return std::move(*r);
    return err("qmp " + cmd + ": reply has neither return nor error");
  }
}

Result<std::string> QmpClient::query_status() {
  auto r = execute("query-status");
  if (!r) return r.error();
  if (!r->is_object() || !r->contains("status") || !(*r)["status"].is_string())
    return err("qmp query-status: reply lacks a status string");
  return (*r)["status"].get<std::string>();
}

Result<void> QmpClient::quit() {
  auto r = execute("quit");
  // QEMU may close the socket before or right after its reply.
  if (!r && r.error().message.find("closed the connection") ==
                std::string::npos)
    return r.error();
  return ok();
}

}  // namespace sbx::vm
