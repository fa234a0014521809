#include "tui/dashboard_state.h"

#include <algorithm>

namespace sbx::tui {

namespace {
bool is_text(int key) { return key >= 0x20 && key < 0x7f; }
}  // namespace

std::string printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      // Everything else, UTF-8 included, as \xNN: one byte is one column,
      // and no sequence can reach the terminal as a control.
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

const std::vector<std::string>& DashboardState::create_labels() {
  static const std::vector<std::string> labels = {"Agent", "Path", "Name", "Memory"};
  return labels;
}

void DashboardState::set_sandboxes(std::vector<proto::SandboxInfo> list) {
  std::string keep;
  if (auto* s = selected_sandbox()) keep = s->name;
  sandboxes_ = std::move(list);
  auto vis = visible_sandboxes();
  sandbox_row_ = std::min(sandbox_row_, vis.empty() ? 0 : vis.size() - 1);
  for (size_t i = 0; i < vis.size(); ++i)
    if (vis[i]->name == keep) sandbox_row_ = i;
}

void DashboardState::add_entry(const proto::NetworkLogEntry& e) {
  for (auto& old : entries_)
    if (old.id == e.id && e.id != 0) {
      old = e;
      return;
    }
  entries_.push_front(e);
  if (entries_.size() > kMaxEntries) entries_.pop_back();
  // The cursor stays on the row it was on unless it sits at the top,
  // where it follows the newest entry.
  if (focus_ == Focus::kNetwork && network_row_ > 0 && net_view_ == NetView::kLive &&
      matches(e.sandbox + " " + e.host))
    ++network_row_;
  network_row_ = std::min(network_row_, network_rows() == 0 ? 0 : network_rows() - 1);
}

void DashboardState::set_status(std::string text, bool error) {
  status_ = std::move(text);
  status_error_ = error;
}

bool DashboardState::matches(const std::string& text) const {
  return filter_.empty() || text.find(filter_) != std::string::npos;
}

std::vector<const proto::SandboxInfo*> DashboardState::visible_sandboxes() const {
  std::vector<const proto::SandboxInfo*> out;
  for (auto& s : sandboxes_)
    if (matches(s.name + " " + s.agent + " " + s.workspace + " " + s.status)) out.push_back(&s);
  return out;
}

std::vector<const proto::NetworkLogEntry*> DashboardState::visible_entries() const {
  std::vector<const proto::NetworkLogEntry*> out;
  for (auto& e : entries_)
    if (matches(e.sandbox + " " + e.host)) out.push_back(&e);
  return out;
}

std::vector<proto::HostSummary> DashboardState::visible_hosts() const {
  std::vector<proto::NetworkLogEntry> v;
  for (auto* e : visible_entries()) v.push_back(*e);
  return proto::summarize_by_host(v);
}

const proto::SandboxInfo* DashboardState::selected_sandbox() const {
  auto vis = visible_sandboxes();
  return vis.empty() ? nullptr : vis[std::min(sandbox_row_, vis.size() - 1)];
}

size_t DashboardState::network_rows() const {
  return net_view_ == NetView::kLive ? visible_entries().size() : visible_hosts().size();
}

std::optional<std::pair<std::string, std::string>> DashboardState::selected_host() const {
  if (net_view_ == NetView::kLive) {
    auto v = visible_entries();
    if (v.empty()) return std::nullopt;
    auto* e = v[std::min(network_row_, v.size() - 1)];
    return std::make_pair(e->host, e->sandbox);
  }
  auto h = visible_hosts();
  if (h.empty()) return std::nullopt;
  auto& s = h[std::min(network_row_, h.size() - 1)];
  return std::make_pair(s.host, s.last_sandbox);
}

void DashboardState::move(int delta) {
  bool sb = focus_ == Focus::kSandboxes;
  size_t n = sb ? visible_sandboxes().size() : network_rows();
  size_t& row = sb ? sandbox_row_ : network_row_;
  if (n == 0) {
    row = 0;
    return;
  }
  long r = static_cast<long>(row) + delta;
  row = static_cast<size_t>(std::clamp(r, 0L, static_cast<long>(n) - 1));
}

Command DashboardState::handle_key(int key) {
  switch (mode_) {
    case Mode::kNormal:
      return normal_key(key);
    case Mode::kHelp:
      mode_ = Mode::kNormal;  // any key closes the help
      return {};
    case Mode::kConfirmDelete: {
      mode_ = Mode::kNormal;
      auto* s = selected_sandbox();
      if ((key == 'y' || key == 'Y') && s) return {Command::kDelete, s->name};
      set_status("Delete cancelled");
      return {};
    }
    case Mode::kScope: {
      mode_ = Mode::kNormal;
      auto kind = scope_allows_ ? Command::kAllow : Command::kBlock;
      if (key == 's' || key == 'S') return {kind, scope_sandbox_, scope_host_};
      if (key == 'g' || key == 'G') return {kind, "", scope_host_};
      set_status("Cancelled");
      return {};
    }
    case Mode::kFilter:
    case Mode::kPublish:
      return text_key(key);
    case Mode::kCreate:
      return create_key(key);
  }
  return {};
}

Command DashboardState::normal_key(int key) {
  auto* s = selected_sandbox();
  auto need_sandbox = [&](const char* what) {
    set_status(std::string("No sandbox selected to ") + what, true);
    return Command{};
  };
  switch (key) {
    case 'q':
    case 'Q':
      return {Command::kQuit};
    case '?':
      mode_ = Mode::kHelp;
      return {};
    case kKeyTab:
      focus_ = focus_ == Focus::kSandboxes ? Focus::kNetwork : Focus::kSandboxes;
      return {};
    case kKeyUp:
    case 'k':
      move(-1);
      return {};
    case kKeyDown:
    case 'j':
      move(1);
      return {};
    case kKeyPageUp:
      move(-10);
      return {};
    case kKeyPageDown:
      move(10);
      return {};
    case kKeyHome:
    case 'g':
      move(-1000000);
      return {};
    case kKeyEnd:
    case 'G':
      move(1000000);
      return {};
    case '/':
      mode_ = Mode::kFilter;
      input_ = filter_;
      return {};
    case 'v':
      net_view_ = net_view_ == NetView::kLive ? NetView::kByHost : NetView::kLive;
      network_row_ = 0;
      return {};
    case 'c':
      mode_ = Mode::kCreate;
      create_values_ = {"shell", "", "", ""};
      create_field_ = 1;
      return {};
  }
  if (focus_ == Focus::kNetwork && (key == 'a' || key == 'b')) {
    auto h = selected_host();
    if (!h) {
      set_status("No host selected", true);
      return {};
    }
    scope_host_ = h->first;
    scope_sandbox_ = h->second;
    scope_allows_ = key == 'a';
    mode_ = Mode::kScope;
    return {};
  }
  switch (key) {
    case kKeyEnter:
      if (!s) return need_sandbox("attach to");
      return {Command::kAttach, s->name};
    case 's':
      if (!s) return need_sandbox("stop");
      return {Command::kStop, s->name};
    case 'r':
      if (!s) return need_sandbox("restart");
      return {Command::kRestart, s->name};
    case 'd':
      if (!s) return need_sandbox("delete");
      mode_ = Mode::kConfirmDelete;
      return {};
    case 'p':
      if (!s) return need_sandbox("publish a port of");
      mode_ = Mode::kPublish;
      input_.clear();
      return {};
  }
  return {};
}

Command DashboardState::text_key(int key) {
  if (key == kKeyEscape) {
    if (mode_ == Mode::kFilter) filter_.clear();
    mode_ = Mode::kNormal;
    return {};
  }
  if (key == kKeyBackspace) {
    if (!input_.empty()) input_.pop_back();
  } else if (is_text(key)) {
    if (input_.size() < 200) input_ += static_cast<char>(key);
  } else if (key != kKeyEnter) {
    return {};
  }
  if (mode_ == Mode::kFilter) {
    // The filter applies as it is typed; enter keeps it.
    filter_ = input_;
    sandbox_row_ = network_row_ = 0;
    if (key == kKeyEnter) mode_ = Mode::kNormal;
    return {};
  }
  if (key != kKeyEnter) return {};
  mode_ = Mode::kNormal;
  auto* s = selected_sandbox();
  if (input_.empty() || !s) return {};
  Command c{Command::kPublish, s->name};
  c.spec = input_;
  return c;
}

Command DashboardState::create_key(int key) {
  auto& field = create_values_[create_field_];
  if (key == kKeyEscape) {
    mode_ = Mode::kNormal;
    set_status("Create cancelled");
    return {};
  }
  if (key == kKeyBackspace) {
    if (!field.empty()) field.pop_back();
  } else if (key == kKeyTab || key == kKeyDown) {
    create_field_ = (create_field_ + 1) % create_values_.size();
  } else if (key == kKeyUp) {
    create_field_ = (create_field_ + create_values_.size() - 1) % create_values_.size();
  } else if (key == kKeyEnter) {
    if (create_field_ + 1 < create_values_.size()) {
      ++create_field_;
      return {};
    }
    mode_ = Mode::kNormal;
    Command c{Command::kCreate, create_values_[2]};
    c.agent = create_values_[0].empty() ? "shell" : create_values_[0];
    c.path = create_values_[1];
    c.memory = create_values_[3];
    return c;
  } else if (is_text(key) && field.size() < 400) {
    field += static_cast<char>(key);
  }
  return {};
}

}  // namespace sbx::tui
