#include "net/relay.h"

#include <string_view>
#include <thread>

namespace sbx::net {

void Relay::pump(ClientStream& from, ClientStream& to, Direction& d) {
  std::string buf(buffer_, '\0');
  for (;;) {
    auto n = from.read(buf.data(), buf.size());
    if (!n) {
      d.error = n.error().message;
      teardown();
      return;
    }
    if (*n == 0) {
      // Half-close: the other direction may still have a lot to say.
      to.shutdown_write();
      return;
    }
    if (auto w = to.write(std::string_view(buf.data(), *n)); !w) {
      d.error = w.error().message;
      teardown();
      return;
    }
    d.bytes += *n;
  }
}

void Relay::teardown() {
  if (torn_down_.exchange(true)) return;
  a_.abort();
  b_.abort();
}

void Relay::cancel() {
  cancelled_ = true;
  teardown();
}

Relay::Stats Relay::run() {
  Stats s;
  std::thread up([&] { pump(a_, b_, s.a_to_b); });
  pump(b_, a_, s.b_to_a);
  up.join();
  s.cancelled = cancelled_;
  return s;
}

}  // namespace sbx::net
