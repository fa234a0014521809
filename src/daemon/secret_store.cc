#include "daemon/secret_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/files.h"

namespace sbx::daemon {

namespace {

using nlohmann::json;

std::string octal(unsigned m) {
  char b[8];
  snprintf(b, sizeof b, "%03o", m & 0777);
  return b;
}

// `path` must be ours, of `type`, with exactly `mode`.
Result<void> check_mode(const std::string& path, mode_t type, unsigned mode, const char* what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return err("cannot stat " + path);
  if ((st.st_mode & S_IFMT) != type)
    return err(std::string(what) + " " + path + " is not a " +
               (type == S_IFDIR ? "directory" : "regular file"));
  if (st.st_uid != ::getuid())
    return err(std::string(what) + " " + path + " belongs to uid " + std::to_string(st.st_uid) +
               ", not to you");
  if ((st.st_mode & 0777) != mode)
    return err(std::string(what) + " " + path + " has mode " + octal(st.st_mode) + "; it must be " +
               octal(mode) + " so only you can read it: chmod " + octal(mode) + " " + path);
  return {};
}

json to_json(const StoredSecret& s) {
  json j{{"scope", s.scope}, {"service", s.service}, {"value", s.value}};
  if (s.custom) {
    j["custom"] = true;
    j["hosts"] = s.hosts;
    j["env"] = s.env;
    j["header"] = s.header;
    j["placeholder"] = s.placeholder;
  }
  if (!s.not_for.empty()) j["not_for"] = s.not_for;
  return j;
}

}  // namespace

Result<void> validate_secret_value(const std::string& value) {
  if (value.empty()) return err(400, "the secret is empty");
  if (value.size() > 16 * 1024) return err(400, "the secret is longer than 16 KiB");
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0')
      return err(400, "the secret contains a line break or NUL; it must fit in one header");
  return {};
}

Result<std::unique_ptr<SecretStore>> SecretStore::open(const std::string& dir) {
  if (!path_exists(dir)) {
    if (auto r = make_dirs(dir, 0700); !r) return r.error().wrap("secrets directory");
    ::chmod(dir.c_str(), 0700);  // make_dirs honours the umask
  }
  if (auto r = check_mode(dir, S_IFDIR, 0700, "secrets directory"); !r) return r.error();
  std::unique_ptr<SecretStore> store(new SecretStore(dir));
  std::string file = store->path();
  if (!path_exists(file)) return store;
  if (auto r = check_mode(file, S_IFREG, 0600, "secrets file"); !r) return r.error();
  auto text = read_file(file);
  if (!text) return text.error().wrap("read secrets");
  // The message never quotes the file: it holds the values.
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("secrets") || !j["secrets"].is_array())
    return err("the secrets file " + file +
               " is damaged; fix or remove it (then set your secrets again)");
  try {
    for (const auto& e : j["secrets"]) {
      StoredSecret s;
      s.scope = e.value("scope", "");
      s.service = e.value("service", "");
      s.value = e.value("value", "");
      s.custom = e.value("custom", false);
      if (s.custom) {
        s.hosts = e.value("hosts", std::vector<std::string>{});
        s.env = e.value("env", "");
        s.header = e.value("header", "");
        s.placeholder = e.value("placeholder", "");
      }
      s.not_for = e.value("not_for", std::vector<std::string>{});
      if (s.service.empty() || !validate_secret_value(s.value)) continue;
      store->secrets_.push_back(std::move(s));
    }
    if (j.contains("bypass") && j["bypass"].is_array())
      for (const auto& e : j["bypass"]) {
        BypassHost b{e.value("scope", ""), e.value("host", "")};
        if (!b.host.empty()) store->bypass_.push_back(std::move(b));
      }
  } catch (const json::exception&) {
    return err("the secrets file " + file +
               " is damaged; fix or remove it (then set your secrets again)");
  }
  return store;
}

Result<void> SecretStore::save_locked() {
  json arr = json::array();
  for (const auto& s : secrets_) arr.push_back(to_json(s));
  json bypass = json::array();
  for (const auto& b : bypass_) bypass.push_back({{"scope", b.scope}, {"host", b.host}});
  std::string text = json{{"version", 1}, {"secrets", arr}, {"bypass", bypass}}.dump(2) + "\n";
  auto w = write_file_atomic(path(), text, 0600);
  if (!w) return w.error().wrap("save secrets");
  ::chmod(path().c_str(), 0600);
  return {};
}

Result<void> SecretStore::set(StoredSecret s) {
  if (auto v = validate_secret_value(s.value); !v) return v;
  std::lock_guard l(mu_);
  bool replaced = false;
  for (auto& e : secrets_)
    if (e.scope == s.scope && e.service == s.service) {
      s.not_for = e.not_for;  // a rotated key reaches the sandboxes that had it
      e = s;
      replaced = true;
    }
  if (!replaced) secrets_.push_back(std::move(s));
  return save_locked();
}

Result<void> SecretStore::remove(const std::string& scope, const std::string& service) {
  std::lock_guard l(mu_);
  auto before = secrets_.size();
  std::erase_if(secrets_,
                [&](const StoredSecret& e) { return e.scope == scope && e.service == service; });
  if (secrets_.size() == before)
    return err(404, "no " + std::string(scope.empty() ? "global" : "sandbox '" + scope + "'") +
                        " secret for '" + service + "'; see 'sbx secret ls'");
  return save_locked();
}

Result<void> SecretStore::forget_sandbox(const std::string& sandbox) {
  std::lock_guard l(mu_);
  bool changed = std::erase_if(secrets_, [&](const StoredSecret& e) { return e.scope == sandbox; });
  changed |= std::erase_if(bypass_, [&](const BypassHost& b) { return b.scope == sandbox; }) > 0;
  for (auto& s : secrets_) changed |= std::erase(s.not_for, sandbox) > 0;
  if (!changed) return {};
  return save_locked();
}

Result<void> SecretStore::clear() {
  std::lock_guard l(mu_);
  secrets_.clear();
  bypass_.clear();
  return save_locked();
}

Result<void> SecretStore::add_bypass(const std::string& scope, const std::string& host) {
  std::lock_guard l(mu_);
  for (const auto& b : bypass_)
    if (b.scope == scope && b.host == host) return {};
  bypass_.push_back({scope, host});
  return save_locked();
}

Result<void> SecretStore::remove_bypass(const std::string& scope, const std::string& host) {
  std::lock_guard l(mu_);
  if (std::erase_if(bypass_,
                    [&](const BypassHost& b) { return b.scope == scope && b.host == host; }) == 0)
    return err(404, "no " + std::string(scope.empty() ? "global" : "sandbox '" + scope + "'") +
                        " bypass for '" + host + "'; see 'sbx secret bypass ls'");
  return save_locked();
}

std::vector<BypassHost> SecretStore::bypasses() const {
  std::lock_guard l(mu_);
  return bypass_;
}

std::vector<StoredSecret> SecretStore::all() const {
  std::lock_guard l(mu_);
  return secrets_;
}

}  // namespace sbx::daemon
