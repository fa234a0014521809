#include "daemon/guest_command.h"

namespace sbx::daemon {

Result<GuestCommandResult> run_guest_command(const std::shared_ptr<GuestChannel>& ch,
                                             const std::string& input, const OutputLineFn& on_line,
                                             size_t max_output) {
  if (!input.empty())
    if (auto r = ch->write_stdin(input); !r) return r.error().wrap("guest command stdin");
  if (auto r = ch->close_stdin(); !r) return r.error().wrap("guest command stdin");
  GuestCommandResult out;
  std::string line;
  auto add = [&](const std::string& data) {
    out.output += data;
    if (out.output.size() > max_output) out.output.erase(0, out.output.size() - max_output);
    if (!on_line) return;
    for (char c : data) {
      if (c == '\n' || line.size() >= 4096) {
        on_line(line);
        line.clear();
        if (c == '\n') continue;
      }
      if (c != '\r') line += c;
    }
  };
  for (;;) {
    auto e = ch->next_event();
    switch (e.kind) {
      case GuestChannel::Event::Kind::kStdout:
      case GuestChannel::Event::Kind::kStderr:
        add(e.data);
        ch->consumed(e.data.size());
        break;
      case GuestChannel::Event::Kind::kEof:
        break;
      case GuestChannel::Event::Kind::kExit:
        if (on_line && !line.empty()) on_line(line);
        out.exit_code = e.exit.exit_code;
        return out;
      case GuestChannel::Event::Kind::kClosed:
      case GuestChannel::Event::Kind::kError:
        return err("guest command ended without an exit status: " + e.data);
    }
  }
}

}  // namespace sbx::daemon
