#include "cli/completion.h"

#include "base/strings.h"

namespace sbx::cli {

namespace {

using Commands = std::vector<CompletionCommand>;

std::string words(const std::vector<std::string>& w) { return join(w, " "); }

std::vector<std::string> names_of(const Commands& cmds) {
  std::vector<std::string> out;
  for (auto& c : cmds) out.push_back(c.name);
  return out;
}

std::vector<std::string> flag_words(const CompletionCommand& c, bool valued_only) {
  std::vector<std::string> out;
  for (auto& f : c.flags)
    if (!valued_only || f.takes_value) out.insert(out.end(), f.names.begin(), f.names.end());
  return out;
}

// The shell snippet that completes a command's positionals.
std::string bash_positionals(const CompletionCommand& c) {
  std::string w;
  w += words(c.words);
  std::string out = "      COMPREPLY=($(compgen -W \"" + w;
  if (c.takes_sandbox) out += std::string(w.empty() ? "" : " ") + "$(_sbx_sandboxes)";
  out += "\" -- \"$cur\"))\n";
  if (c.takes_path) out += "      COMPREPLY+=($(compgen -f -- \"$cur\"))\n";
  return out;
}

std::string bash_command_case(const CompletionCommand& c,
                              const std::string& indent) {
  std::string out;
  out += indent + "  valued=\"" + words(flag_words(c, true)) + "\"\n";
  out += indent + "  flags=\"" + words(flag_words(c, false)) + "\"\n";
  return out + indent + "  _sbx_positionals() {\n" + bash_positionals(c) + indent + "  }\n";
}

std::string bash(const Commands& cmds) {
  std::string s = R"(# bash completion for sbx. Load it with:
#   source <(sbx completion bash)
_sbx_sandboxes() { command sbx ls -q 2>/dev/null; }
_sbx() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local cmd="" sub="" i w valued="" flags=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi
  done
  _sbx_positionals() { :; }
  case $cmd in
    "")
      COMPREPLY=($(compgen -W ")" + words(names_of(cmds)) + R"(" -- "$cur"))
      return ;;
)";
  for (auto& c : cmds) {
    s += "    " + c.name + ")\n";
    if (!c.subcommands.empty()) {
      s += "      case $sub in\n";
      s += "        \"\")\n          COMPREPLY=($(compgen -W \"" + words(names_of(c.subcommands)) +
           " " + words(flag_words(c, false)) + "\" -- \"$cur\"))\n          return ;;\n";
      for (auto& sc : c.subcommands) {
        s += "        " + sc.name + ")\n" + bash_command_case(sc, "        ") + "          ;;\n";
      }
      s += "      esac ;;\n";
    } else {
      s += bash_command_case(c, "    ") + "      ;;\n";
    }
  }
  s += R"(  esac
  # The value of a flag: offer files (for --env-file and friends).
  if [[ -n $valued && " $valued " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  _sbx_positionals
}
complete -F _sbx sbx
)";
  return s;
}

// zsh: single quotes, a quote written as '\''.
std::string zq(const std::string& s) { return shell_quote(s); }

std::string zsh_command(const CompletionCommand& c,
                        const std::string& indent) {
  std::string s;
  s += indent + "if [[ $PREFIX == -* ]]; then compadd -- " + words(flag_words(c, false)) +
       "; return; fi\n";
  if (!c.words.empty()) s += indent + "compadd -- " + words(c.words) + "\n";
  if (c.takes_sandbox) s += indent + "compadd -- ${(f)\"$(command sbx ls -q 2>/dev/null)\"}\n";
  if (c.takes_path) s += indent + "_files\n";
  return s;
}

std::string zsh_describe(const std::string& var, const Commands& cmds) {
  std::string s = "  local -a " + var + "=(\n";
  for (auto& c : cmds) s += "    " + zq(c.name + ":" + c.help) + "\n";
  return s + "  )\n";
}

std::string zsh(const Commands& cmds) {
  std::string s = R"(#compdef sbx
# zsh completion for sbx. Load it with:
#   source <(sbx completion zsh)
# or save it as _sbx in a directory on $fpath.
_sbx() {
)";
  s += zsh_describe("commands", cmds);
  s += R"(  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case ${words[2]} in
)";
  for (auto& c : cmds) {
    s += "    " + c.name + ")\n";
    if (!c.subcommands.empty()) {
      s += zsh_describe("subcommands", c.subcommands);
      s += "      if (( CURRENT == 3 )); then _describe 'subcommand' subcommands; return; fi\n";
      s += "      case ${words[3]} in\n";
      for (auto& sc : c.subcommands)
        s += "        " + sc.name + ")\n" + zsh_command(sc, "          ") + "          ;;\n";
      s += "      esac\n      ;;\n";
    } else {
      s += zsh_command(c, "      ") + "      ;;\n";
    }
  }
  s += R"(  esac
}
if [[ ${funcstack[1]} == _sbx ]]; then
  _sbx "$@"
else
  compdef _sbx sbx
fi
)";
  return s;
}

// fish: single quotes, with \ and ' escaped by a backslash.
std::string fq(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string fish_flags(const CompletionCommand& c, const std::string& cond) {
  std::string s;
  for (auto& f : c.flags) {
    std::string line = "complete -c sbx -n " + fq(cond);
    for (auto& n : f.names) {
      if (starts_with(n, "--"))
        line += " -l " + n.substr(2);
      else if (n.size() == 2)
        line += " -s " + n.substr(1);
      else
        line += " -o " + n.substr(1);
    }
    if (f.takes_value) line += " -r";
    s += line + " -d " + fq(f.help) + "\n";
  }
  return s;
}

std::string fish_positionals(const CompletionCommand& c,
                             const std::string& cond) {
  std::string s;
  std::string base = "complete -c sbx -n " + fq(cond);
  if (!c.words.empty()) s += base + " -a " + fq(words(c.words)) + "\n";
  if (c.takes_sandbox) s += base + " -a '(type -q sbx; and command sbx ls -q 2>/dev/null)' -d sandbox\n";
  if (c.takes_path) s += base + " -F\n";
  return s;
}

std::string fish(const Commands& cmds) {
  std::string s = "# fish completion for sbx. Load it with:\n"
                  "#   sbx completion fish | source\n"
                  "complete -c sbx -f\n";
  for (auto& c : cmds)
    s += "complete -c sbx -n __fish_use_subcommand -a " + c.name + " -d " + fq(c.help) + "\n";
  for (auto& c : cmds) {
    std::string cond = "__fish_seen_subcommand_from " + c.name;
    if (!c.subcommands.empty()) {
      std::string none = cond + "; and not __fish_seen_subcommand_from " + words(names_of(c.subcommands));
      for (auto& sc : c.subcommands)
        s += "complete -c sbx -n " + fq(none) + " -a " + sc.name + " -d " + fq(sc.help) + "\n";
      for (auto& sc : c.subcommands) {
        std::string sub = cond + "; and __fish_seen_subcommand_from " + sc.name;
        s += fish_flags(sc, sub) + fish_positionals(sc, sub);
      }
    }
    s += fish_flags(c, cond) + fish_positionals(c, cond);
  }
  return s;
}

}  // namespace

const std::vector<std::string>& completion_shells() {
  static const std::vector<std::string> shells = {"bash", "zsh", "fish"};
  return shells;
}

Result<std::string> completion_script(const std::string& shell, const Commands& commands) {
  if (shell == "bash") return bash(commands);
  if (shell == "zsh") return zsh(commands);
  if (shell == "fish") return fish(commands);
  return err("unsupported shell '" + shell + "'; use one of: " + join(completion_shells(), ", "));
}

}  // namespace sbx::cli
