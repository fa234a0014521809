// A net::ClientStream over a byte-stream channel of the agent link: an
// egress channel the guest opened (what EgressProxy serves) or a tcp
// channel the host opened (a published port's guest end).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "daemon/agent_link.h"
#include "net/client_stream.h"

namespace sbx::daemon {

/// Adapts a GuestChannel to net::ClientStream. read() and write() may run on
/// different threads (the relay's two directions); abort() from any thread
/// makes a blocked read() return.
class GuestStream : public net::ClientStream {
 public:
  explicit GuestStream(std::shared_ptr<GuestChannel> ch) : ch_(std::move(ch)) {}
  /// Aborts the channel unless that already happened: a dropped stream must
  /// not leave the guest's connection open.
  ~GuestStream() override { abort(); }
  GuestStream(const GuestStream&) = delete;
  GuestStream& operator=(const GuestStream&) = delete;

  /// Pops DATA (keeping the rest of a chunk for the next call) and returns
  /// its credit to the guest as the bytes leave; 0 once the guest sent EOF
  /// or CLOSE.
  Result<size_t> read(char* buf, size_t n) override;
  /// DATA within the guest's credit, in chunks of at most proto::kDataChunk.
  Result<void> write(std::string_view data) override;
  /// EOF toward the guest.
  void shutdown_write() override;
  /// CLOSE toward the guest; wakes a read() blocked in another thread.
  void abort() override;

  uint32_t channel_id() const { return ch_->id(); }

 private:
  std::shared_ptr<GuestChannel> ch_;
  // Reader-side state: only read() touches it.
  std::string pending_;
  size_t pending_pos_ = 0;
  bool eof_ = false;
  std::string error_;
  std::atomic<bool> aborted_{false};
};

}  // namespace sbx::daemon
