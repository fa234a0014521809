// An exec channel: one running (non-detached) command bound to a channel id.
// Host DATA is the child's stdin; its stdout (or the pty) goes back as DATA,
// stderr as DATA_ERR; EOF and EXIT follow once it has exited and all output
// has been read. See docs/protocol.md.
#pragma once

#include <sys/types.h>

#include <memory>

#include "agent/channel.h"
#include "agent/exec_spawner.h"
#include "base/fd.h"
#include "proto/messages.h"

namespace sbx::agent {

/// A child process, its pipes or pty, and its exit.
class ExecChannel : public Channel {
 public:
  /// Starts `req` for OPEN on channel `id` and answers the OPEN (OPEN_OK
  /// with the pid, or OPEN_FAIL). Returns the channel, or null when there is
  /// none to keep (failure, or a detached command: EXIT is sent at once).
  static std::unique_ptr<ExecChannel> open(uint32_t id, const proto::ExecRequest& req,
                                           const ExecSpawner& spawner, ChannelContext& ctx);
  ~ExecChannel() override = default;

  void on_eof() override;
  void on_resize(std::string_view payload) override;
  void on_signal(std::string_view payload) override;
  /// SIGKILLs the process group and every process in its session.
  void abort() override;

  void add_poll_fds(PollSet& set, bool link_has_room) override;
  void on_ready(int slot, short events, short revents) override;
  bool on_child_exit(pid_t pid, int status) override;
  /// Sends EOF and EXIT once the child has exited and its output ended.
  void finish_if_done() override;

 private:
  ExecChannel(uint32_t id, ChannelContext& ctx, SpawnedExec sp, bool tty);

  bool accepts_input() const override;
  void write_input() override;
  const char* input_name() const override { return "stdin credit"; }
  /// Reads the stream in `slot` (stdout, stderr or the pty).
  void read_output(int slot);
  /// The child's stdin is finished with: close the pipe.
  void close_stdin();
  /// All output streams have reached EOF.
  bool output_done() const;

  pid_t pid_ = -1;  ///< also the process group id (the child ran setsid)
  bool tty_ = false;
  Fd stdin_fd_;             ///< non-tty: child's stdin
  Fd stdout_fd_;            ///< non-tty: child's stdout; reset at EOF
  Fd stderr_fd_;            ///< non-tty: child's stderr; reset at EOF
  Fd pty_;                  ///< tty: master; kept until the channel is freed
  bool pty_eof_ = false;    ///< tty: EIO/EOF seen on the master (slave closed)
  bool pty_hup_ = false;    ///< tty: POLLHUP seen; stop writing input
  bool in_closed_ = false;  ///< the child's stdin is gone: discard input
  bool exited_ = false;
  proto::ExitInfo exit_;
};

}  // namespace sbx::agent
