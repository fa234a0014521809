#include "image/apt_sources.h"

#include <algorithm>

#include "base/files.h"
#include "base/strings.h"

namespace sbx::image {
namespace {

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Options inside "[ ... ]" of a one-line entry: "signed-by=/x arch=amd64".
void apply_one_line_options(std::string_view opts, AptSource& src) {
  for (auto& w : words(opts)) {
    size_t eq = w.find('=');
    if (eq == std::string::npos) continue;
    std::string key = to_lower(w.substr(0, eq));
    if (key == "signed-by") src.signed_by = w.substr(eq + 1);
  }
}

bool is_true(const std::string& v) {
  std::string l = to_lower(trim(v));
  return !(l == "no" || l == "false" || l == "0");
}

}  // namespace

std::vector<AptSource> parse_one_line_sources(std::string_view text) {
  std::vector<AptSource> out;
  for (auto& raw : split(text, '\n')) {
    std::string line = raw;
    if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    AptSource src;
    size_t sp = line.find_first_of(" \t");
    if (sp == std::string::npos) continue;
    std::string type = line.substr(0, sp);
    if (type != "deb" && type != "deb-src") continue;
    src.types = {type};
    std::string rest = trim(line.substr(sp));
    if (starts_with(rest, "[")) {
      size_t close = rest.find(']');
      if (close == std::string::npos) continue;  // malformed: apt rejects it too
      apply_one_line_options(std::string_view(rest).substr(1, close - 1), src);
      rest = trim(rest.substr(close + 1));
    }
    auto w = words(rest);
    if (w.size() < 2) continue;
    src.uris = {w[0]};
    src.suites = {w[1]};
    src.components.assign(w.begin() + 2, w.end());
    out.push_back(std::move(src));
  }
  return out;
}

std::vector<AptSource> parse_deb822_sources(std::string_view text) {
  std::vector<AptSource> out;
  // Collect one stanza's fields as (lower-case key, joined value).
  std::vector<std::pair<std::string, std::string>> fields;
  auto flush = [&] {
    if (fields.empty()) return;
    AptSource src;
    for (auto& [k, v] : fields) {
      if (k == "types") src.types = words(v);
      else if (k == "uris") src.uris = words(v);
      else if (k == "suites") src.suites = words(v);
      else if (k == "components") src.components = words(v);
      else if (k == "signed-by") src.signed_by = trim(v);  // a path, or an inline key block
      else if (k == "enabled") src.enabled = is_true(v);
    }
    if (!src.types.empty() && !src.uris.empty() && !src.suites.empty())
      out.push_back(std::move(src));
    fields.clear();
  };
  for (auto& raw : split(text, '\n')) {
    std::string line = raw;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    if (line[0] == ' ' || line[0] == '\t') {
      // Continuation of the previous field (e.g. an inline Signed-By key).
      if (!fields.empty()) fields.back().second += "\n" + trim(line);
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    fields.emplace_back(to_lower(trim(line.substr(0, colon))),
                        trim(line.substr(colon + 1)));
  }
  flush();
  return out;
}

std::vector<AptSource> filter_debian_sources(const std::vector<AptSource>& sources,
                                             const std::string& release) {
  const std::vector<std::string> wanted_suites = {release, release + "-updates",
                                                  release + "-security"};
  std::vector<AptSource> out;
  for (auto& s : sources) {
    if (!s.enabled || !contains(s.types, "deb")) continue;
    // A repository signed by its own key is not Debian's archive.
    if (!s.signed_by.empty() &&
        s.signed_by.find("debian-archive-keyring") == std::string::npos)
      continue;
    if (!contains(s.components, "main")) continue;
    AptSource kept;
    kept.types = {"deb"};
    kept.uris = s.uris;
    kept.components = {"main"};
    kept.signed_by = s.signed_by;
    for (auto& suite : s.suites)
      if (contains(wanted_suites, suite)) kept.suites.push_back(suite);
    if (kept.suites.empty() || kept.uris.empty()) continue;
    out.push_back(std::move(kept));
  }
  return out;
}

std::string render_sources_list(const std::vector<AptSource>& sources) {
  std::string out;
  for (auto& s : sources)
    for (auto& uri : s.uris)
      for (auto& suite : s.suites)
        out += "deb " + uri + " " + suite + " " + join(s.components, " ") + "\n";
  return out;
}

Result<std::vector<AptSource>> read_apt_sources(const std::string& etc_apt) {
  std::vector<AptSource> all;
  std::string main_list = etc_apt + "/sources.list";
  if (path_exists(main_list)) {
    auto text = read_file(main_list);
    if (!text) return text.error();
    auto v = parse_one_line_sources(*text);
    all.insert(all.end(), v.begin(), v.end());
  }
  std::string dir = etc_apt + "/sources.list.d";
  if (is_directory(dir)) {
    auto names = list_dir(dir);
    if (!names) return names.error();
    std::sort(names->begin(), names->end());
    for (auto& n : *names) {
      bool one_line = ends_with(n, ".list");
      bool deb822 = ends_with(n, ".sources");
      if (!one_line && !deb822) continue;  // apt ignores other names too
      auto text = read_file(dir + "/" + n);
      if (!text) return text.error();
      auto v = one_line ? parse_one_line_sources(*text) : parse_deb822_sources(*text);
      all.insert(all.end(), v.begin(), v.end());
    }
  }
  return all;
}

Result<std::string> host_debian_sources_list(const std::string& release,
                                             const std::string& etc_apt) {
  auto all = read_apt_sources(etc_apt);
  if (!all) return all.error();
  auto kept = filter_debian_sources(*all, release);
  // Without the base suite apt cannot resolve anything; updates and security
  // alone would not do.
  bool has_base = false;
  for (auto& s : kept)
    if (contains(s.suites, release)) has_base = true;
  if (!has_base)
    return err("no Debian '" + release + "' source (component main) in " + etc_apt +
               "/sources.list or " + etc_apt +
               "/sources.list.d; add e.g. 'deb <your Debian mirror> " + release +
               " main' and run apt-get update");
  return render_sources_list(kept);
}

}  // namespace sbx::image
