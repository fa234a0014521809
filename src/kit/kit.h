// A kit: the declarative definition of an agent (or any sandbox flavour), in
// the spirit of Docker sbx kits. Parsed from kit.yaml by kit_parser; data
// only here, so the daemon (template builds, provisioning, egress rules) and
// the CLI (kit ls/inspect/validate) share one shape.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sbx::kit {

/// A credential the agent uses; the key stays on the host (issue 10): the
/// guest's `env` holds the sentinel and the host proxy injects the value.
struct Credential {
  std::string service;               ///< built-in service name: anthropic, openai, github, google
  std::string env;                   ///< env var the agent reads, e.g. ANTHROPIC_API_KEY
  std::vector<std::string> domains;  ///< hosts the credential is sent to
  std::string header;                ///< header that carries it, e.g. x-api-key
};

/// A file the kit writes into the sandbox at create.
struct KitFile {
  std::string path;     ///< absolute in the guest; "~/" means the sandbox user's home
  std::string content;  ///< literal bytes
  uint32_t mode = 0644;
  /// The file in the kit's directory `content` was read from (relative, as
  /// kit.yaml names it); empty for inline content.
  std::string source;
};

/// A host file carrying the user's agent settings (never credentials),
/// copied into the sandbox user's home at create unless --no-host-config.
struct HostConfig {
  std::string path;  ///< relative to the host user's home, e.g. ".claude/settings.json"
};

/// One kit.
struct Kit {
  std::string name;         ///< "claude"; also the template tag and name prefix
  std::string kind;         ///< "agent"
  std::string description;  ///< one line for `kit ls`
  std::string parent;       ///< parent template, "shell" for every built-in agent
  /// Shell commands run as root, in order, in a sandbox booted from `parent`,
  /// with the network through the sandbox's egress proxy; the result is saved
  /// as this kit's template layer. Empty: the parent template is used as is.
  std::vector<std::string> install;
  /// Pinned Node.js from the npm registry's binary packages when the agent
  /// needs a newer one than Debian's; empty: none.
  std::string node;
  std::map<std::string, std::string> env;  ///< set for the entry command
  std::vector<KitFile> files;
  std::vector<std::string>
      entry;  ///< argv of the agent, e.g. {"claude", "--dangerously-skip-permissions"}
  std::vector<std::string> allow;  ///< domains the agent needs (allow rules)
  std::vector<Credential> credentials;
  std::vector<HostConfig> host_config;
  std::string source;  ///< where it was read from (file path), for messages
};

}  // namespace sbx::kit
