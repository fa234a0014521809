// What the dashboard shows and which part has the keyboard, apart from any
// terminal library: keys go in, commands for the daemon come out. The
// curses front end (curses_screen.h) and the loop (dashboard.h) sit around
// it, so the behaviour of every key is unit-tested here.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "proto/api.h"
#include "proto/network_summary.h"

namespace sbx::tui {

/// Keys that are not plain characters (curses' codes are mapped to these).
enum Key : int {
  kKeyUp = 0x10000,
  kKeyDown,
  kKeyPageUp,
  kKeyPageDown,
  kKeyHome,
  kKeyEnd,
  kKeyBackspace,
  kKeyEnter = '\n',
  kKeyTab = '\t',
  kKeyEscape = 27,
};

/// Something the user asked of the daemon. The loop runs it off the UI thread.
struct Command {
  enum Kind { kNone, kQuit, kAttach, kStop, kRestart, kDelete, kPublish, kCreate, kAllow, kBlock };
  Command(Kind k = kNone, std::string target = "", std::string host_name = "")
      : kind(k), sandbox(std::move(target)), host(std::move(host_name)) {}
  Kind kind = kNone;
  std::string sandbox;              ///< its target; for kAllow/kBlock empty means global
  std::string host;                 ///< kAllow/kBlock
  std::string spec;                 ///< kPublish: a port spec
  std::string agent, path, memory;  ///< kCreate (sandbox: the name, may be empty)
};

/// The dashboard's model: data from the daemon plus the UI's own state.
class DashboardState {
 public:
  /// Which pane has the keyboard.
  enum class Focus { kSandboxes, kNetwork };
  /// The network pane's view: live requests, or grouped by host.
  enum class NetView { kLive, kByHost };
  /// A modal line or form that takes the keys while it is open.
  enum class Mode { kNormal, kHelp, kConfirmDelete, kScope, kFilter, kPublish, kCreate };

  /// Newest network entries kept for the live view (older ones drop off).
  static constexpr size_t kMaxEntries = 2000;

  /// Replaces the sandbox list (a fresh GET /v1/sandboxes); the selection
  /// stays on the same name when it is still there.
  void set_sandboxes(std::vector<proto::SandboxInfo> list);
  /// Adds a network entry from the event stream; an entry with an id
  /// already held (a connection's final update) replaces it.
  void add_entry(const proto::NetworkLogEntry& e);
  /// Shows `text` on the status line (an action's outcome, an error).
  void set_status(std::string text, bool error = false);

  /// Handles one key; returns what to ask the daemon, if anything.
  Command handle_key(int key);

  // ---- read by the view ----
  Focus focus() const { return focus_; }
  NetView net_view() const { return net_view_; }
  Mode mode() const { return mode_; }
  const std::string& filter() const { return filter_; }
  const std::string& status() const { return status_; }
  bool status_is_error() const { return status_error_; }
  /// The text being typed in kFilter/kPublish mode, or the create form's.
  const std::string& input() const { return input_; }
  /// The create form: field labels and values, and the one being edited.
  static const std::vector<std::string>& create_labels();
  const std::vector<std::string>& create_values() const { return create_values_; }
  size_t create_field() const { return create_field_; }
  /// The host and sandbox a kScope question is about, and whether it allows.
  const std::string& scope_host() const { return scope_host_; }
  const std::string& scope_sandbox() const { return scope_sandbox_; }
  bool scope_allows() const { return scope_allows_; }

  /// Sandboxes matching the filter, in the daemon's order.
  std::vector<const proto::SandboxInfo*> visible_sandboxes() const;
  /// Live entries matching the filter, newest first.
  std::vector<const proto::NetworkLogEntry*> visible_entries() const;
  /// The by-host grouping of the entries matching the filter.
  std::vector<proto::HostSummary> visible_hosts() const;
  /// Index of the selected row in the sandbox pane / network pane.
  size_t sandbox_row() const { return sandbox_row_; }
  size_t network_row() const { return network_row_; }
  /// The selected sandbox (nullptr when the list is empty).
  const proto::SandboxInfo* selected_sandbox() const;

 private:
  Command normal_key(int key);
  Command text_key(int key);
  Command create_key(int key);
  void move(int delta);
  size_t network_rows() const;
  bool matches(const std::string& text) const;
  /// The host under the network cursor and the sandbox it was seen from.
  std::optional<std::pair<std::string, std::string>> selected_host() const;

  std::vector<proto::SandboxInfo> sandboxes_;
  std::deque<proto::NetworkLogEntry> entries_;  ///< newest first
  Focus focus_ = Focus::kSandboxes;
  NetView net_view_ = NetView::kLive;
  Mode mode_ = Mode::kNormal;
  std::string filter_;
  std::string input_;
  std::string status_;
  bool status_error_ = false;
  size_t sandbox_row_ = 0;
  size_t network_row_ = 0;
  std::vector<std::string> create_values_;
  size_t create_field_ = 0;
  std::string scope_host_, scope_sandbox_;
  bool scope_allows_ = false;
};

/// `s` with control characters and invalid bytes shown as escapes (\n,
/// \x1b, ...): text from the guest (host names, errors) must not drive the
/// terminal.
std::string printable(std::string_view s);

}  // namespace sbx::tui
