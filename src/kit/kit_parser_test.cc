#include "kit/kit_parser.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "base/strings.h"

namespace sbx::kit {
namespace {

const char* kMinimal = "name: mine\nkind: agent\nentry: [bash, -l]\n";

// Parses `yaml` as "k.yaml" and returns the error text ("" when it parsed).
std::string errors_of(const std::string& yaml) {
  auto k = parse_kit(yaml, "k.yaml");
  return k ? "" : k.error().message;
}

TEST(KitParser, EveryBuiltInKitParses) {
  auto names = list_dir(SBX_SOURCE_KITS_DIR);
  ASSERT_TRUE(names) << names.error().message;
  std::vector<std::string> want = {"claude", "codex", "copilot", "gemini", "opencode", "shell"};
  for (auto& w : want) {
    auto k = load_kit_dir(std::string(SBX_SOURCE_KITS_DIR) + "/" + w);
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(k->name, w);
    EXPECT_EQ(k->kind, "agent");
    ASSERT_FALSE(k->entry.empty());
    EXPECT_EQ(k->source, std::string(SBX_SOURCE_KITS_DIR) + "/" + w + "/kit.yaml");
    if (w != "shell") {
      EXPECT_EQ(k->parent, "shell") << w;
      EXPECT_FALSE(k->install.empty()) << w;
      EXPECT_FALSE(k->node.empty()) << w;
      EXPECT_FALSE(k->allow.empty()) << w;
      EXPECT_FALSE(k->credentials.empty()) << w;
    }
  }
}

TEST(KitParser, BuiltInEntriesAreTheAgentsOwn) {
  auto entry = [](const std::string& name) {
    auto k = load_kit_dir(std::string(SBX_SOURCE_KITS_DIR) + "/" + name);
    return k ? join(k->entry, " ") : k.error().message;
  };
  EXPECT_EQ(entry("shell"), "bash -l");
  EXPECT_EQ(entry("claude"), "claude --dangerously-skip-permissions");
  EXPECT_EQ(entry("codex"), "codex --dangerously-bypass-approvals-and-sandbox");
  EXPECT_EQ(entry("gemini"), "gemini --yolo");
  EXPECT_EQ(entry("copilot"), "copilot --allow-all-tools");
  EXPECT_EQ(entry("opencode"), "opencode");
}

TEST(KitParser, ClaudeKitCarriesItsCredentialsAndConfig) {
  auto k = load_kit_dir(std::string(SBX_SOURCE_KITS_DIR) + "/claude");
  ASSERT_TRUE(k) << k.error().message;
  ASSERT_EQ(k->credentials.size(), 2u);
  EXPECT_EQ(k->credentials[0].service, "anthropic");
  EXPECT_EQ(k->credentials[0].env, "ANTHROPIC_API_KEY");
  EXPECT_EQ(k->credentials[0].header, "x-api-key");
  EXPECT_EQ(k->credentials[0].domains, std::vector<std::string>{"api.anthropic.com"});
  EXPECT_EQ(k->credentials[1].env, "CLAUDE_CODE_OAUTH_TOKEN");
  EXPECT_EQ(k->env.at("DISABLE_AUTOUPDATER"), "1");
  ASSERT_FALSE(k->host_config.empty());
  EXPECT_EQ(k->host_config[0].path, ".claude/settings.json");
}

TEST(KitParser, MinimalKitAndEveryField) {
  auto k = parse_kit(kMinimal, "k.yaml");
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->name, "mine");
  EXPECT_TRUE(k->parent.empty());
  auto full = parse_kit(R"(name: full
kind: sandbox
description: everything
parent: claude
install:
  - apt-get install -y jq
env: {EDITOR: nano, N: 1}
files:
  - path: ~/.config/x.conf
    content: "a=1\n"
    mode: "0600"
  - path: /etc/y
    content: y
entry: [jq, --version]
allow: [api.example.com, "*.example.org"]
credentials:
  - {service: example, env: EXAMPLE_KEY, domains: [api.example.com], header: X-Key}
host_config: [.example/config.json, .example/prompts/]
)",
                        "k.yaml");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->kind, "sandbox");
  EXPECT_EQ(full->env.at("N"), "1");
  ASSERT_EQ(full->files.size(), 2u);
  EXPECT_EQ(full->files[0].content, "a=1\n");
  EXPECT_EQ(full->files[0].mode, 0600u);
  EXPECT_EQ(full->files[1].mode, 0644u);
  EXPECT_EQ(full->allow[1], "*.example.org");
  EXPECT_EQ(full->host_config[1].path, ".example/prompts/");
}

TEST(KitParser, ErrorsNameFileLineAndColumn) {
  // Each broken kit, and the start of the line its error must carry.
  struct Case {
    std::string yaml;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"name: mine\nkind: agent\nentry: [bash]\nentrypoint: [x]\n",
       "k.yaml:4:1: kit: unknown key 'entrypoint'; did you mean 'entry'?"},
      {"name: mine\nkind: agent\nentry: [bash]\nbogus: 1\n",
       "k.yaml:4:1: kit: unknown key 'bogus' (known:"},
      {"name: mine\nkind: agent\nentry: bash -l\n", "k.yaml:3:8: entry must be a list"},
      {"name: mine\nkind: agent\nentry: [bash]\nenv: [A]\n", "k.yaml:4:6: env must be a mapping"},
      {"name: [mine]\nkind: agent\nentry: [bash]\n",
       "k.yaml:1:7: name must be a string, not a list"},
      {"kind: agent\nentry: [bash]\n", "k.yaml:1:1: missing 'name'"},
      {"name: mine\nkind: agent\n", "k.yaml:1:1: missing 'entry'"},
      {"name: Mine\nkind: agent\nentry: [bash]\n", "k.yaml:1:7: name 'Mine' is not valid"},
      {"name: mine\nkind: robot\nentry: [bash]\n", "k.yaml:2:7: kind 'robot' is not known"},
      {"name: mine\nkind: agent\nentry: []\n", "k.yaml:3:8: entry is empty"},
      {"name: mine\nkind: agent\nentry: [bash, '']\n", "k.yaml:3:15: entry[1] is empty"},
      {"name: mine\nkind: agent\nentry: [bash]\nallow: [Example.COM]\n",
       "k.yaml:4:9: allow: 'Example.COM' is not a domain"},
      {"name: mine\nkind: agent\nentry: [bash]\nnode: \"99.0.0\"\n",
       "k.yaml:4:7: node '99.0.0' has no pinned runtime"},
      {"name: mine\nkind: agent\nentry: [bash]\nparent: mine\n",
       "k.yaml:4:9: a kit cannot be its own parent"},
      {"name: mine\nkind: agent\nentry: [bash]\nhost_config: [.codex/auth.json]\n",
       "k.yaml:4:15: host_config '.codex/auth.json' looks like a credentials file"},
      {"name: mine\nkind: agent\nentry: [bash]\nhost_config: [/etc/passwd]\n",
       "k.yaml:4:15: host_config '/etc/passwd' must be relative"},
      {"name: mine\nkind: agent\nentry: [bash]\nfiles:\n  - path: relative\n    content: x\n",
       "k.yaml:5:11: files[0].path 'relative' must be an absolute file path"},
      {"name: mine\nkind: agent\nentry: [bash]\nfiles:\n  - path: /x\n",
       "k.yaml:5:5: files[0] needs exactly one of content"},
      {"name: mine\nkind: agent\nentry: [bash]\nfiles:\n  - {path: /x, content: y, mode: 999}\n",
       "k.yaml:5:34: files[0].mode '999' is not octal"},
      {"name: mine\nkind: agent\nentry: [bash]\ncredentials:\n  - {service: x, env: K, header: "
       "h}\n",
       "k.yaml:5:5: missing 'credentials[0].domains'"},
      {"name: mine\nkind: agent\nentry: [bash]\nname: again\n",
       "k.yaml:4:1: kit: 'name' given twice"},
      {"name: mine\nkind: agent\nentry: [bash\n", "k.yaml:"},  // syntax: yaml-cpp's own words
      {"name: mine\n---\nname: two\n", "k.yaml:3:1: one YAML document per kit.yaml"},
      {"", "k.yaml:1:1: empty kit"},
      {"- a\n- b\n", "k.yaml:1:1: a kit is a mapping"},
  };
  for (auto& c : cases) {
    std::string e = errors_of(c.yaml);
    bool found = false;
    for (auto& line : split(e, '\n')) found = found || starts_with(line, c.expect);
    EXPECT_TRUE(found) << "for:\n"
                       << c.yaml << "expected a line starting\n  " << c.expect << "\ngot:\n  " << e;
  }
}

TEST(KitParser, ReportsEveryProblemNotOnlyTheFirst) {
  auto e = errors_of("name: Bad\nkind: robot\nentry: [bash]\nextra: 1\n");
  EXPECT_EQ(split(e, '\n').size(), 3u) << e;
  std::string many = "name: mine\nkind: agent\nentry: [bash]\n";
  for (int i = 0; i < 40; ++i) many += "k" + std::to_string(i) + ": 1\n";
  auto lines = split(errors_of(many), '\n');
  EXPECT_EQ(lines.size(), kMaxKitErrors + 1);
  EXPECT_NE(lines.back().find("and 20 more errors"), std::string::npos);
}

TEST(KitParser, InputIsBounded) {
  std::string big =
      std::string(kMinimal) + "description: x\n# " + std::string(kMaxKitYamlBytes, 'x');
  auto e = errors_of(big);
  EXPECT_NE(e.find("over the 65536-byte limit"), std::string::npos) << e;
  // Deep nesting is refused by yaml-cpp's depth guard, not by the stack.
  std::string deep = "name: mine\nkind: agent\nentry: [bash]\nenv: " + std::string(20000, '[');
  EXPECT_FALSE(errors_of(deep).empty());
  std::string steps = std::string(kMinimal) + "install:\n";
  for (int i = 0; i < 65; ++i) steps += "  - true\n";
  EXPECT_NE(errors_of(steps).find("install has 65 items; the limit is 64"), std::string::npos);
}

TEST(KitParser, FilesFromTheKitDirectoryStayInside) {
  auto d = TempDir::create("kit-src");
  ASSERT_TRUE(d);
  std::string kit = d->path() + "/k";
  ASSERT_TRUE(make_dirs(kit + "/files"));
  ASSERT_TRUE(write_file_atomic(kit + "/files/settings.json", "{\"a\": 1}\n"));
  ASSERT_TRUE(write_file_atomic(d->path() + "/outside", "secret\n"));
  ASSERT_EQ(::symlink("../../outside", (kit + "/files/escape").c_str()), 0);
  ASSERT_TRUE(write_file_atomic(
      kit + "/kit.yaml",
      std::string(kMinimal) + "files:\n  - {path: ~/.a.json, source: files/settings.json}\n"));
  auto k = load_kit_dir(kit);
  ASSERT_TRUE(k) << k.error().message;
  ASSERT_EQ(k->files.size(), 1u);
  EXPECT_EQ(k->files[0].content, "{\"a\": 1}\n");
  ASSERT_TRUE(write_file_atomic(
      kit + "/kit.yaml", std::string(kMinimal) + "files:\n  - {path: ~/.a, source: files/escape}\n"
                                                 "  - {path: ~/.b, source: ../outside}\n"));
  auto bad = load_kit_dir(kit);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("kit.yaml:5:26: files[0].source: "), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("outside " + *absolute_path(kit)), std::string::npos);
  EXPECT_NE(bad.error().message.find("kit.yaml:6:26: files[1].source '../outside' must be"),
            std::string::npos)
      << bad.error().message;
  EXPECT_EQ(bad.error().code, kBadRequest);
}

TEST(KitParser, LoadingADirectoryGivesTheBytesItChecked) {
  auto d = TempDir::create("kit-bytes");
  ASSERT_TRUE(d);
  ASSERT_TRUE(make_dirs(d->path() + "/files"));
  ASSERT_TRUE(write_file_atomic(d->path() + "/files/a.json", "{}\n"));
  ASSERT_TRUE(write_file_atomic(d->path() + "/unused", "not named by the kit\n"));
  std::string yaml = std::string(kMinimal) +
                     "files:\n  - {path: ~/.a.json, source: files/a.json}\n"
                     "  - {path: ~/.b, content: inline}\n";
  ASSERT_TRUE(write_file_atomic(d->path() + "/kit.yaml", yaml));
  KitSources src;
  auto k = load_kit_dir(d->path(), &src);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(src.yaml, yaml);
  ASSERT_EQ(src.files.size(), 1u);
  EXPECT_EQ(src.files["files/a.json"], "{}\n");
  EXPECT_EQ(k->files[0].source, "files/a.json");
  EXPECT_EQ(k->files[1].source, "");
}

TEST(KitParser, MissingDirectoryOrKitYamlSaysSo) {
  auto d = TempDir::create("kit-none");
  ASSERT_TRUE(d);
  auto k = load_kit_dir(d->path());
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message.find("no kit.yaml in"), std::string::npos);
  auto m = load_kit_dir(d->path() + "/nope");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("does not exist"), std::string::npos);
}

TEST(KitParser, Names) {
  EXPECT_TRUE(valid_kit_name("claude"));
  EXPECT_TRUE(valid_kit_name("my-agent2"));
  EXPECT_FALSE(valid_kit_name(""));
  EXPECT_FALSE(valid_kit_name("2x"));
  EXPECT_FALSE(valid_kit_name("a-"));
  EXPECT_FALSE(valid_kit_name("a_b"));
  EXPECT_FALSE(valid_kit_name("../x"));
  EXPECT_FALSE(valid_kit_name(std::string(33, 'a')));
}

}  // namespace
}  // namespace sbx::kit
