#include "kit/kit_parser.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "base/files.h"
#include "base/strings.h"
#include "kit/bounded_file.h"
#include "kit/node_runtime.h"
#include "kit/secret_patterns.h"

namespace sbx::kit {

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool valid_env_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!(lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_')) return false;
  return true;
}

bool valid_template_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || !lower_alnum(s[0])) return false;
  for (char c : s)
    if (!(lower_alnum(c) || c == '-' || c == '_' || c == '.' || c == ':')) return false;
  return true;
}

// A host name or "*.suffix", lower case, with at least one dot.
bool valid_domain(std::string_view d) {
  if (starts_with(d, "*.")) d.remove_prefix(2);
  if (d.empty() || d.size() > 253 || d.find('.') == std::string_view::npos) return false;
  for (auto& label : split(d, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!(lower_alnum(c) || c == '-')) return false;
  }
  return true;
}

bool valid_header(std::string_view h) {
  if (h.empty() || h.size() > 64) return false;
  for (char c : h)
    if (!(lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '-')) return false;
  return true;
}

bool has_dot_component(std::string_view p) {
  for (auto& c : split(p, '/'))
    if (c == ".." || c == ".") return true;
  return false;
}

// Docker sbx kit keys people will carry over, and what ours are called.
const std::map<std::string, std::string>& renamed_keys() {
  static const std::map<std::string, std::string> m = {
      {"entrypoint", "entry"},       {"command", "entry"},           {"image", "parent"},
      {"template", "parent"},        {"allowedDomains", "allow"},    {"allowed_domains", "allow"},
      {"domains", "allow"},          {"serviceAuth", "credentials"}, {"environment", "env"},
      {"hostConfig", "host_config"}, {"steps", "install"},           {"run", "install"}};
  return m;
}

// A field of a mapping: its value and where its key was (a null value
// often has no position of its own).
struct Field {
  YAML::Node value;
  YAML::Mark key_mark;
};

class Reader {
 public:
  Reader(std::string source, std::string dir) : source_(std::move(source)), dir_(std::move(dir)) {}

  Result<Kit> read(std::string_view text) {
    if (text.size() > kMaxKitYamlBytes)
      return err(kBadRequest, source_ + ": " + std::to_string(text.size()) + " bytes, over the " +
                                  std::to_string(kMaxKitYamlBytes) + "-byte limit for kit.yaml");
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    if (docs.size() > 1)
      fail(docs[1].Mark(), "one YAML document per kit.yaml; remove the second '---'");
    if (docs.empty() || docs[0].IsNull()) {
      fail(YAML::Mark(), "empty kit: it needs at least name, kind and entry");
      return finish();
    }
    const YAML::Node& root = docs[0];
    if (!root.IsMap()) {
      fail(root.Mark(), "a kit is a mapping of keys (name: ..., kind: ..., entry: [...])");
      return finish();
    }
    static const std::vector<std::string> kKeys = {
        "name", "kind",  "description", "parent", "node",        "install",
        "env",  "files", "entry",       "allow",  "credentials", "host_config"};
    auto f = fields(root, "kit", kKeys);
    kit_.source = source_;
    read_name(f, root.Mark());
    if (auto kind = required_string(f, "kind", root.Mark(), 32, "agent or sandbox")) {
      if (*kind != "agent" && *kind != "sandbox")
        fail(at(f["kind"]), "kind '" + *kind + "' is not known; use 'agent' or 'sandbox'");
      kit_.kind = *kind;
    }
    if (auto d = optional_string(f, "description", 200)) {
      if (d->find('\n') != std::string::npos)
        fail(at(f["description"]), "description must be one line");
      kit_.description = *d;
    }
    if (auto p = optional_string(f, "parent", 128)) {
      if (!valid_template_name(*p))
        fail(at(f["parent"]), "parent '" + *p +
                                  "' is not a template name (lower-case letters, digits, '-', "
                                  "'_', '.', ':')");
      else if (*p == kit_.name)
        fail(at(f["parent"]), "a kit cannot be its own parent");
      kit_.parent = *p;
    }
    if (auto n = optional_string(f, "node", 32)) {
      if (!find_node_runtime(*n))
        fail(at(f["node"]), "node '" + *n + "' has no pinned runtime in sbx; use one of: " +
                                join(known_node_versions(), ", "));
      kit_.node = *n;
    }
    if (f.count("install")) kit_.install = strings(f["install"], "install", 64, 16 * 1024);
    if (f.count("env")) read_env(f["env"]);
    if (f.count("files")) read_files(f["files"]);
    if (!f.count("entry")) {
      fail(root.Mark(), "missing 'entry': the command the sandbox runs, e.g. entry: [bash, -l]");
    } else {
      size_t before = errors_.size() + dropped_;
      kit_.entry = strings(f["entry"], "entry", 64, 4096);
      if (kit_.entry.empty() && errors_.size() + dropped_ == before)
        fail(at(f["entry"]), "entry is empty; it must name a command, e.g. entry: [bash, -l]");
    }
    if (f.count("allow")) {
      for (auto& [d, m] : marked_strings(f["allow"], "allow", 128, 253)) {
        if (!valid_domain(d))
          fail(m,
               "allow: '" + d + "' is not a domain; write e.g. api.example.com or *.example.com");
        kit_.allow.push_back(d);
      }
    }
    if (f.count("credentials")) read_credentials(f["credentials"]);
    if (f.count("host_config")) read_host_config(f["host_config"]);
    return finish();
  }

  void fail(const YAML::Mark& m, const std::string& msg) {
    if (errors_.size() < kMaxKitErrors) {
      int line = m.is_null() || m.line < 0 ? 0 : m.line;
      int col = m.is_null() || m.line < 0 ? 0 : m.column;
      errors_.push_back(Problem{line, col, where(m) + ": " + msg});
    } else {
      ++dropped_;
    }
  }

 private:
  std::string where(const YAML::Mark& m) const {
    if (m.is_null() || m.line < 0) return source_ + ":1:1";
    return source_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }

  static YAML::Mark at(const Field& f) {
    YAML::Mark m = f.value.Mark();
    return m.is_null() || m.line < 0 ? f.key_mark : m;
  }

  Result<Kit> finish() {
    if (errors_.empty()) return std::move(kit_);
    // In file order, as an editor would walk them.
    std::stable_sort(errors_.begin(), errors_.end(), [](const Problem& a, const Problem& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    std::vector<std::string> lines;
    for (auto& e : errors_) lines.push_back(e.text);
    std::string msg = join(lines, "\n");
    if (dropped_) msg += "\n" + source_ + ": ... and " + std::to_string(dropped_) + " more errors";
    return err(kBadRequest, msg);
  }

  // The keys of a mapping: each known, none twice, each a plain scalar.
  std::map<std::string, Field> fields(const YAML::Node& map, const std::string& what,
                                      const std::vector<std::string>& known) {
    std::map<std::string, Field> out;
    for (auto it = map.begin(); it != map.end(); ++it) {
      // Copies: the iterator's pair is a temporary proxy (a reference into
      // it dangles, which ASan caught in the fuzz replay).
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      if (!k.IsScalar()) {
        fail(k.Mark(), what + ": keys must be plain words");
        continue;
      }
      const std::string& key = k.Scalar();
      bool ok = false;
      for (auto& n : known) ok = ok || n == key;
      if (!ok) {
        std::string msg = what + ": unknown key '" + key + "'";
        auto r = renamed_keys().find(key);
        if (r != renamed_keys().end() &&
            std::find(known.begin(), known.end(), r->second) != known.end())
          msg += "; did you mean '" + r->second + "'?";
        else
          msg += " (known: " + join(known, ", ") + ")";
        fail(k.Mark(), msg);
        continue;
      }
      if (out.count(key)) {
        fail(k.Mark(), what + ": '" + key + "' given twice");
        continue;
      }
      out[key] = Field{v, k.Mark()};
    }
    return out;
  }

  std::optional<std::string> scalar(const Field& f, const std::string& field, size_t max) {
    if (f.value.IsNull()) {
      fail(at(f), field + " has no value");
      return std::nullopt;
    }
    if (!f.value.IsScalar()) {
      fail(at(f), field + " must be a string, not a " + (f.value.IsMap() ? "mapping" : "list"));
      return std::nullopt;
    }
    const std::string& s = f.value.Scalar();
    if (s.size() > max) {
      fail(at(f), field + " is " + std::to_string(s.size()) + " bytes long; the limit is " +
                      std::to_string(max));
      return std::nullopt;
    }
    if (s.find('\0') != std::string::npos) {
      fail(at(f), field + " contains a NUL byte");
      return std::nullopt;
    }
    return s;
  }

  std::optional<std::string> optional_string(std::map<std::string, Field>& f, const char* key,
                                             size_t max) {
    if (!f.count(key)) return std::nullopt;
    return scalar(f[key], key, max);
  }

  std::optional<std::string> required_string(std::map<std::string, Field>& f, const char* key,
                                             const YAML::Mark& owner, size_t max,
                                             const std::string& example) {
    if (!f.count(key)) {
      fail(owner, std::string("missing '") + key + "' (" + example + ")");
      return std::nullopt;
    }
    return scalar(f[key], key, max);
  }

  // A list of strings with the position of each.
  std::vector<std::pair<std::string, YAML::Mark>> marked_strings(const Field& f,
                                                                 const std::string& field,
                                                                 size_t max_items, size_t max_len) {
    std::vector<std::pair<std::string, YAML::Mark>> out;
    if (!f.value.IsSequence()) {
      fail(at(f), field + " must be a list, e.g. " + field + ": [a, b] or one '- item' per line");
      return out;
    }
    if (f.value.size() > max_items) {
      fail(at(f), field + " has " + std::to_string(f.value.size()) + " items; the limit is " +
                      std::to_string(max_items));
      return out;
    }
    for (size_t i = 0; i < f.value.size(); ++i) {
      Field item{f.value[i], at(f)};
      auto s = scalar(item, field + "[" + std::to_string(i) + "]", max_len);
      if (!s) continue;
      if (s->empty()) {
        fail(at(item), field + "[" + std::to_string(i) + "] is empty");
        continue;
      }
      out.emplace_back(std::move(*s), at(item));
    }
    return out;
  }

  std::vector<std::string> strings(const Field& f, const std::string& field, size_t max_items,
                                   size_t max_len) {
    std::vector<std::string> out;
    for (auto& [s, m] : marked_strings(f, field, max_items, max_len)) out.push_back(std::move(s));
    return out;
  }

  void read_name(std::map<std::string, Field>& f, const YAML::Mark& owner) {
    auto name = required_string(f, "name", owner, 64, "e.g. name: my-agent");
    if (!name) return;
    if (!valid_kit_name(*name))
      fail(at(f["name"]), "name '" + *name +
                              "' is not valid: 1-32 lower-case letters, digits and '-', "
                              "starting with a letter");
    kit_.name = *name;
  }

  void read_env(const Field& f) {
    if (!f.value.IsMap()) {
      fail(at(f), "env must be a mapping, e.g. env: {EDITOR: nano}");
      return;
    }
    if (f.value.size() > 64) {
      fail(at(f), "env has more than 64 variables");
      return;
    }
    std::set<std::string> seen;
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar() || !valid_env_name(key.Scalar())) {
        fail(key.Mark(), "env: '" + (key.IsScalar() ? key.Scalar() : std::string("?")) +
                             "' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
        continue;
      }
      const std::string k = key.Scalar();
      if (!seen.insert(k).second) {
        fail(key.Mark(), "env: '" + k + "' given twice");
        continue;
      }
      if (auto v = scalar(Field{value, key.Mark()}, "env." + k, 4096)) kit_.env[k] = *v;
    }
  }

  void read_files(const Field& f) {
    if (!f.value.IsSequence()) {
      fail(at(f), "files must be a list of {path, content or source, mode}");
      return;
    }
    if (f.value.size() > 64) {
      fail(at(f), "files has more than 64 entries");
      return;
    }
    static const std::vector<std::string> kKeys = {"path", "content", "source", "mode"};
    for (size_t i = 0; i < f.value.size(); ++i) {
      std::string what = "files[" + std::to_string(i) + "]";
      const YAML::Node& n = f.value[i];
      if (!n.IsMap()) {
        fail(n.Mark(), what + " must be a mapping with path and content (or source)");
        continue;
      }
      auto m = fields(n, what, kKeys);
      KitFile kf;
      if (auto p = required_string(m, "path", n.Mark(), 1024,
                                   "where in the sandbox, e.g. ~/.config/x")) {
        bool shape = starts_with(*p, "/") || starts_with(*p, "~/");
        if (!shape || has_dot_component(*p) || ends_with(*p, "/") || *p == "~/")
          fail(at(m["path"]), what + ".path '" + *p +
                                  "' must be an absolute file path or start with ~/, without "
                                  "'.' or '..'");
        kf.path = *p;
      }
      if (m.count("content") == m.count("source")) {
        fail(n.Mark(), what +
                           " needs exactly one of content (the text) and source (a file "
                           "in the kit's directory)");
      } else if (m.count("content")) {
        if (auto c = scalar(m["content"], what + ".content", kMaxKitFileBytes)) kf.content = *c;
      } else if (auto s = scalar(m["source"], what + ".source", 1024)) {
        read_source(*s, at(m["source"]), what, kf);
      }
      if (m.count("mode")) {
        auto mode = scalar(m["mode"], what + ".mode", 8);
        if (mode) {
          auto v = parse_octal(*mode);
          if (!v)
            fail(at(m["mode"]), what + ".mode '" + *mode + "' is not octal like 0644 or 0755");
          else
            kf.mode = *v;
        }
      }
      keep(kf.content.size(), at(f));
      kit_.files.push_back(std::move(kf));
    }
  }

  static std::optional<uint32_t> parse_octal(const std::string& s) {
    if (s.empty() || s.size() > 5) return std::nullopt;
    uint32_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '7') return std::nullopt;
      v = v * 8 + static_cast<uint32_t>(c - '0');
    }
    if (v > 07777) return std::nullopt;
    return v;
  }

  void read_source(const std::string& rel, const YAML::Mark& m, const std::string& what,
                   KitFile& kf) {
    if (dir_.empty()) {
      fail(m, what + ".source needs the kit's directory; use content instead");
      return;
    }
    if (rel.empty() || rel[0] == '/' || has_dot_component(rel)) {
      fail(m, what + ".source '" + rel + "' must be a relative path inside the kit's directory");
      return;
    }
    auto file = read_file_within(dir_, dir_ + "/" + rel, kMaxKitFileBytes);
    if (!file) {
      fail(m, what + ".source: " + file.error().message);
      return;
    }
    kf.content = std::move(file->content);
    kf.source = rel;
  }

  void keep(size_t bytes, const YAML::Mark& m) {
    kept_ += bytes;
    if (kept_ > kMaxKitTotalBytes && !over_) {
      over_ = true;
      fail(m,
           "the kit's files add up to more than " + std::to_string(kMaxKitTotalBytes) + " bytes");
    }
  }

  void read_credentials(const Field& f) {
    if (!f.value.IsSequence()) {
      fail(at(f), "credentials must be a list of {service, env, domains, header}");
      return;
    }
    if (f.value.size() > 16) {
      fail(at(f), "credentials has more than 16 entries");
      return;
    }
    static const std::vector<std::string> kKeys = {"service", "env", "domains", "header"};
    for (size_t i = 0; i < f.value.size(); ++i) {
      std::string what = "credentials[" + std::to_string(i) + "]";
      const YAML::Node& n = f.value[i];
      if (!n.IsMap()) {
        fail(n.Mark(), what + " must be a mapping with service, env, domains and header");
        continue;
      }
      auto m = fields(n, what, kKeys);
      Credential c;
      if (auto s = required_string(m, "service", n.Mark(), 32, "e.g. service: anthropic")) {
        bool good = !s->empty();
        for (char ch : *s) good = good && (lower_alnum(ch) || ch == '-');
        if (!good) fail(at(m["service"]), what + ".service '" + *s + "' is not a service name");
        c.service = *s;
      }
      if (auto e = required_string(m, "env", n.Mark(), 128, "e.g. env: ANTHROPIC_API_KEY")) {
        if (!valid_env_name(*e))
          fail(at(m["env"]), what + ".env '" + *e + "' is not a variable name");
        c.env = *e;
      }
      if (auto h = required_string(m, "header", n.Mark(), 64, "e.g. header: x-api-key")) {
        if (!valid_header(*h))
          fail(at(m["header"]), what + ".header '" + *h + "' is not a header name");
        c.header = *h;
      }
      if (!m.count("domains")) {
        fail(n.Mark(), "missing '" + what + ".domains' (where the credential is sent)");
      } else {
        for (auto& [d, dm] : marked_strings(m["domains"], what + ".domains", 16, 253)) {
          if (!valid_domain(d)) fail(dm, what + ".domains: '" + d + "' is not a domain");
          c.domains.push_back(d);
        }
        if (c.domains.empty() && m["domains"].value.IsSequence())
          fail(at(m["domains"]), what + ".domains is empty");
      }
      kit_.credentials.push_back(std::move(c));
    }
  }

  void read_host_config(const Field& f) {
    for (auto& [p, m] : marked_strings(f, "host_config", 64, 512)) {
      if (p[0] == '/' || p[0] == '~' || has_dot_component(p) || p.find("//") != std::string::npos) {
        fail(m, "host_config '" + p +
                    "' must be relative to the home directory, e.g. "
                    "'.claude/settings.json' (a trailing '/' names a directory)");
        continue;
      }
      if (auto why = secret_name_reason(p)) {
        fail(m, "host_config '" + p + "' looks like a credentials file (" + *why +
                    "); kits never copy credentials");
        continue;
      }
      kit_.host_config.push_back(HostConfig{p});
    }
  }

  struct Problem {
    int line, column;
    std::string text;
  };
  std::string source_, dir_;
  Kit kit_;
  std::vector<Problem> errors_;
  size_t dropped_ = 0;
  size_t kept_ = 0;
  bool over_ = false;
};

}  // namespace

bool valid_kit_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || !(name[0] >= 'a' && name[0] <= 'z') || name.back() == '-')
    return false;
  for (char c : name)
    if (!(lower_alnum(c) || c == '-')) return false;
  return true;
}

Result<Kit> parse_kit(std::string_view yaml, const std::string& source, const std::string& dir) {
  // yaml-cpp reports by exception; this is the one place they become errors.
  Reader reader(source, dir);
  try {
    return reader.read(yaml);
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? source + ":1:1"
                                         : source + ":" + std::to_string(e.mark.line + 1) + ":" +
                                               std::to_string(e.mark.column + 1);
    return err(kBadRequest, where + ": " + (e.msg.empty() ? std::string(e.what()) : e.msg));
  } catch (const std::exception& e) {
    return err(kBadRequest, source + ": " + e.what());
  }
}

Result<Kit> load_kit_dir(const std::string& dir, KitSources* sources) {
  auto abs = absolute_path(dir);
  if (!abs) return abs.error().wrap("kit");
  if (!is_directory(*abs))
    return err(kBadRequest, "kit directory '" + dir + "' does not exist or is not a directory");
  std::string file = *abs + "/kit.yaml";
  if (!path_exists(file))
    return err(kBadRequest, "no kit.yaml in '" + *abs + "': a kit directory holds kit.yaml");
  auto text = read_file_within(*abs, file, kMaxKitYamlBytes);
  if (!text) return err(kBadRequest, "kit: " + text.error().message);
  auto kit = parse_kit(text->content, file, *abs);
  if (kit && sources) {
    sources->yaml = std::move(text->content);
    sources->files.clear();
    for (auto& f : kit->files)
      if (!f.source.empty()) sources->files[f.source] = f.content;
  }
  return kit;
}

}  // namespace sbx::kit
