// One channel of the agent link as the agent serves it: the base class of
// ExecChannel and TcpChannel. It owns the channel's flow state (credit and
// buffered host input) and the frame handling every kind shares; each kind
// does its own I/O. The LinkServer routes frames and poll events here and
// forgets a channel once it is closed().
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/channel_flow.h"
#include "agent/console.h"
#include "agent/link_output.h"
#include "proto/frame.h"

namespace sbx::agent {

/// What channels share of the link: the output, the console and one read
/// buffer (a channel reads into it and sends the bytes as a frame at once).
struct ChannelContext {
  LinkOutput& out;
  const Console& console;
  std::vector<char>& read_buf;

  /// Logs and sends OPEN_FAIL for a channel that could not be opened.
  void open_fail(uint32_t id, int code, const std::string& msg);
};

/// The fds of one poll() round, each tagged with its channel and a slot the
/// channel chose (which of its fds it is).
struct PollSet {
  struct Tag {
    uint32_t channel = 0;
    int slot = 0;
  };
  std::vector<pollfd> fds;
  std::vector<Tag> tags;  ///< tags[i] belongs to fds[tags_base + i]
  size_t tags_base = 0;

  void add(uint32_t channel, int fd, short events, int slot) {
    fds.push_back({fd, events, 0});
    tags.push_back({channel, slot});
  }
};

/// One open channel.
class Channel {
 public:
  using Clock = std::chrono::steady_clock;

  virtual ~Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  uint32_t id() const { return id_; }
  /// Nothing more will happen on the channel: the server forgets it.
  bool closed() const { return closed_; }

  // Frames from the host.
  /// DATA: counted against the host's window, then delivered or dropped.
  void on_data(std::string_view payload);
  /// WINDOW: more credit for our DATA.
  void on_window(std::string_view payload);
  /// EOF: the host sends no more input.
  virtual void on_eof() = 0;
  virtual void on_resize(std::string_view /*payload*/) {}
  virtual void on_signal(std::string_view /*payload*/) {}
  /// OPEN_OK (ok) or OPEN_FAIL for a channel the guest opened.
  virtual void on_open_reply(bool /*ok*/) {}
  /// The host's CLOSE, or its session ended: stop at once, send nothing.
  virtual void abort() { closed_ = true; }

  // The event loop.
  /// Adds the fds to poll; `link_has_room`: the link's output is below its
  /// high-water mark, so output may be read.
  virtual void add_poll_fds(PollSet& set, bool link_has_room) = 0;
  /// poll() reported `revents` on the fd added with `slot` and `events`.
  virtual void on_ready(int slot, short events, short revents) = 0;
  /// Acts on a passed deadline; returns ms until the next one, or -1.
  virtual int check_deadline(Clock::time_point /*now*/) { return -1; }
  /// A child exited: true if it was this channel's process.
  virtual bool on_child_exit(pid_t /*pid*/, int /*status*/) { return false; }
  /// Sends the final frames and closes if the channel's work is complete.
  virtual void finish_if_done() = 0;

 protected:
  Channel(uint32_t id, ChannelContext& ctx) : ctx_(ctx), id_(id) {}

  /// Whether host input can still be delivered; if not it is credited back
  /// at once and dropped, so the host never stalls.
  virtual bool accepts_input() const = 0;
  /// Writes buffered host input (after DATA was buffered).
  virtual void write_input() = 0;
  /// Logged when the host overruns its window ("its <this> credit").
  virtual const char* input_name() const = 0;

  /// Returns `n` bytes of credit to the host (WINDOW frames).
  void credit_back(uint64_t n);
  /// Reads what credit and one frame allow from `fd` and sends it as a
  /// `type` frame. The result of read(2): > 0 sent, 0 EOF, < 0 errno set
  /// (EAGAIN included); 0 bytes of credit reads nothing and returns -1/EAGAIN.
  ssize_t read_to_host(int fd, proto::FrameType type);
  void send(proto::FrameType type, std::string_view payload) { ctx_.out.send(id_, type, payload); }
  /// Logs "channel N: msg".
  void log(const std::string& msg) const;
  /// Logs `why` (if any), sends CLOSE and closes the channel.
  void close_with(const std::string& why);
  void mark_closed() { closed_ = true; }

  ChannelFlow flow_;
  ChannelContext& ctx_;

 private:
  uint32_t id_;
  bool closed_ = false;
};

}  // namespace sbx::agent
