#include "agent/channel.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "proto/messages.h"

namespace sbx::agent {

using proto::FrameType;

void ChannelContext::open_fail(uint32_t id, int code, const std::string& msg) {
  console.log("open channel " + std::to_string(id) + ": " + msg);
  out.send(id, FrameType::kOpenFail, proto::to_json(proto::OpenFailure{msg, code}));
}

void Channel::on_data(std::string_view payload) {
  uint64_t n = payload.size();
  if (n == 0) return;
  if (!flow_.receive(n)) {
    log("host sent " + std::to_string(n) + " bytes beyond its " + input_name() +
        "; closing the channel");
    send(FrameType::kClose, "");
    abort();
    return;
  }
  if (!accepts_input()) {
    credit_back(n);  // nowhere to deliver it; keep the host's window open
    return;
  }
  flow_.buffer(payload);
  write_input();
}

void Channel::on_window(std::string_view payload) {
  auto n = proto::decode_u32(payload);
  if (!n) {
    log("bad WINDOW: " + n.error().message);
    return;
  }
  flow_.grant(*n);
}

void Channel::credit_back(uint64_t n) {
  flow_.credited(n);
  while (n > 0) {
    uint32_t part = static_cast<uint32_t>(std::min<uint64_t>(n, 0xFFFFFFFFu));
    send(FrameType::kWindow, proto::encode_u32(part));
    n -= part;
  }
}

ssize_t Channel::read_to_host(int fd, FrameType type) {
  size_t max = flow_.read_limit(ctx_.read_buf.size());
  if (max == 0) {
    errno = EAGAIN;
    return -1;
  }
  ssize_t n;
  do {
    n = read(fd, ctx_.read_buf.data(), max);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    flow_.spend(static_cast<uint64_t>(n));
    send(type, std::string_view(ctx_.read_buf.data(), static_cast<size_t>(n)));
  }
  return n;
}

void Channel::log(const std::string& msg) const {
  ctx_.console.log("channel " + std::to_string(id_) + ": " + msg);
}

void Channel::close_with(const std::string& why) {
  if (!why.empty()) log(why);
  send(FrameType::kClose, "");
  closed_ = true;
}

}  // namespace sbx::agent
