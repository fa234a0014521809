#include "image/boot_layer.h"

#include <set>
#include <vector>

#include "base/strings.h"
#include "image/tar_writer.h"

namespace sbx::image {
namespace {

constexpr char kAgent[] = "agent";

std::string with_newline(std::string s) {
  if (!s.empty() && s.back() != '\n') s += '\n';
  return s;
}

// Field `i` (0-based) of a colon-separated line, "" if absent.
uint32_t id_or(const std::string& s, uint32_t fallback) {
  auto v = parse_uint(s);
  return v && *v < UINT32_MAX ? static_cast<uint32_t>(*v) : fallback;
}

std::string field(const std::string& line, size_t i) {
  auto f = split(line, ':');
  return i < f.size() ? f[i] : "";
}

std::set<uint32_t> ids_in(const std::string& text, size_t col) {
  std::set<uint32_t> ids;
  for (auto& line : split(text, '\n')) {
    auto v = parse_uint(field(line, col));
    if (v && *v < UINT32_MAX) ids.insert(static_cast<uint32_t>(*v));
  }
  return ids;
}

uint32_t first_free(const std::set<uint32_t>& used, uint32_t from) {
  while (used.count(from)) ++from;
  return from;
}

}  // namespace

AgentAccount add_agent_account(const BootLayerInput& in) {
  AgentAccount a;
  std::vector<std::string> plines, glines;
  for (auto& l : split(in.passwd, '\n'))
    if (!trim(l).empty()) plines.push_back(l);
  for (auto& l : split(in.group, '\n'))
    if (!trim(l).empty()) glines.push_back(l);
  if (plines.empty()) plines.push_back("root:x:0:0:root:/root:" + in.shell);
  if (glines.empty()) glines.push_back("root:x:0:");

  std::string existing;
  for (auto& l : plines)
    if (field(l, 0) == kAgent) existing = l;
  if (!existing.empty()) {
    a.uid = id_or(field(existing, 2), 1000);
    a.gid = id_or(field(existing, 3), 1000);
  } else {
    a.uid = first_free(ids_in(in.passwd, 2), 1000);
  }
  bool have_group = false;
  for (auto& l : glines)
    if (field(l, 0) == kAgent) {
      have_group = true;
      if (existing.empty()) a.gid = id_or(field(l, 2), a.uid);
    }
  if (!have_group && existing.empty()) {
    auto used = ids_in(in.group, 2);
    a.gid = used.count(a.uid) ? first_free(used, 1000) : a.uid;
  }
  if (existing.empty())
    plines.push_back(std::string(kAgent) + ":x:" + std::to_string(a.uid) + ":" +
                     std::to_string(a.gid) + ":sbx agent:/home/agent:" + in.shell);
  if (!have_group) glines.push_back(std::string(kAgent) + ":x:" + std::to_string(a.gid) + ":");
  // Membership in the admin and docker groups the image has.
  for (auto& l : glines) {
    std::string name = field(l, 0);
    if (name != "sudo" && name != "wheel" && name != "docker") continue;
    auto members = split(field(l, 3), ',');
    bool in_group = false;
    for (auto& m : members) in_group = in_group || m == kAgent;
    if (in_group) continue;
    std::string m = field(l, 3);
    auto f = split(l, ':');
    f.resize(4);
    f[3] = m.empty() ? kAgent : m + "," + kAgent;
    l = join(f, ":");
  }
  a.passwd = join(plines, "\n") + "\n";
  a.group = join(glines, "\n") + "\n";
  return a;
}

std::string boot_layer_tar(const BootLayerInput& in) {
  AgentAccount acct = add_agent_account(in);
  TarWriter w;
  // Mount points: the agent moves /dev, /proc and /sys here and mounts
  // /run and /tmp-style file systems.
  for (const char* d : {"dev", "proc", "sys", "run", "home", "etc"}) w.dir(d);
  w.dir("tmp", {01777, 0, 0});
  w.dir("home/agent", {0755, acct.uid, acct.gid});
  w.file("etc/passwd", acct.passwd);
  w.file("etc/group", acct.group);
  w.file("etc/hostname", "sbx\n");
  w.file("etc/hosts",
         "127.0.0.1\tlocalhost\n127.0.1.1\tsbx\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  // The agent answers DNS on 127.0.0.1 inside the guest.
  w.file("etc/resolv.conf", "nameserver 127.0.0.1\n");
  if (in.has_sudo) {
    w.dir("etc/sudoers.d");
    w.file("etc/sudoers.d/agent", "agent ALL=(ALL:ALL) NOPASSWD: ALL\n", {0440, 0, 0});
  }
  return w.finish();
}

}  // namespace sbx::image
