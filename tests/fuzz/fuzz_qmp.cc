// The QMP client's reader: what QEMU (semi-trusted: it runs guest-influenced
// code) writes on the monitor socket, fed through a socketpair to the real
// client as VmProcess drives it: the greeting and capabilities handshake,
// then query-status, pending events, a command with arguments and quit.
// Replies match by id (1 = qmp_capabilities, then 2, 3, 4), so the seeds
// carry those ids. The input is written before the client starts and the
// write side is closed, so every read ends at once (no timeout is waited).
#include <sys/socket.h>

#include <cstdint>
#include <string_view>

#include "base/fd.h"
#include "fuzz_check.h"
#include "vm/qmp_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx;
  using std::chrono::milliseconds;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Stays under the socket buffer, so writing it all cannot block.
  if (in.size() > 64 * 1024) return 0;
  (void)vm::json_too_deep(in, vm::QmpClient::kMaxDepth);

  auto sp = socket_pair();
  FUZZ_CHECK(sp.ok());
  FUZZ_CHECK(write_all(sp->second.get(), in).ok());
  ::shutdown(sp->second.get(), SHUT_WR);  // QEMU said all it will say

  auto c = vm::QmpClient::handshake(std::move(sp->first), milliseconds(2000));
  if (!c.ok()) return 0;
  FUZZ_CHECK(c->greeting().is_object() && c->greeting().contains("QMP"));
  if (auto st = c->query_status(); st.ok()) FUZZ_CHECK(st->size() < in.size());
  (void)c->poll_events();
  (void)c->execute("human-monitor-command", {{"command-line", "info version"}});
  FUZZ_CHECK(c->events().size() <= vm::QmpClient::kMaxEvents);
  if (auto ev = c->last_event("SHUTDOWN")) FUZZ_CHECK(ev->is_object());
  (void)c->quit();
  return 0;
}
