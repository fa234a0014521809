#include "daemon/guest_provisioner.h"

#include <cstdio>

#include "base/strings.h"
#include "daemon/guest_command.h"
#include "image/sha256.h"

namespace sbx::daemon {

using namespace std::chrono_literals;

std::string GuestProvisioner::host_bundle() const {
  return host_ca_bundle(host_ca_files(sources_));
}

std::string GuestProvisioner::install_script(const std::string& bundle_sha256) {
  // Certificates already in the guest's bundle are skipped (on a host whose
  // store is Debian's plus a proxy CA, only that one is new), so
  // update-ca-certificates runs only for real additions. A changed host
  // bundle first takes the previous additions out (--fresh).
  return std::string(R"SH(set -eu
dir=)SH") +
         kGuestHostCaDir + R"SH(
bundle=)SH" +
         kGuestCaBundle + R"SH(
mark=/etc/sbx/host-ca.sha256
want=)SH" +
         bundle_sha256 + R"SH(
if [ -f "$mark" ] && [ "$(cat "$mark")" = "$want" ]; then cat >/dev/null; exit 0; fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
if [ -d "$dir" ]; then rm -rf "$dir"; update-ca-certificates --fresh >/dev/null 2>&1; fi
[ -s "$bundle" ] || printf '\n' > "$bundle"
mkdir -p "$dir"
awk -v dir="$dir" '
  FNR == NR {
    if ($0 ~ /-----BEGIN CERTIFICATE-----/) { body = ""; inc = 1; next }
    if ($0 ~ /-----END CERTIFICATE-----/) { have[body] = 1; inc = 0; next }
    if (inc) { sub(/\r$/, ""); body = body $0 }
    next
  }
  /-----BEGIN CERTIFICATE-----/ { body = ""; pem = $0 "\n"; inc = 1; next }
  inc {
    sub(/\r$/, "")
    pem = pem $0 "\n"
    if ($0 ~ /-----END CERTIFICATE-----/) {
      inc = 0
      if (!(body in have)) { n++; f = sprintf("%s/host-%03d.crt", dir, n); printf "%s", pem > f; close(f); have[body] = 1 }
    } else body = body $0
  }
  END { print n + 0 }
' "$bundle" "$tmp" > /tmp/.sbx-ca-count
added=$(cat /tmp/.sbx-ca-count); rm -f /tmp/.sbx-ca-count
if [ "$added" -gt 0 ]; then update-ca-certificates >/dev/null 2>&1; else rmdir "$dir"; fi
mkdir -p /etc/sbx /etc/profile.d
printf '%s\n' "$want" > "$mark"
printf 'export NODE_EXTRA_CA_CERTS=%s\n' "$bundle" > /etc/profile.d/sbx-host-ca.sh
echo "sbx: $added host CA certificate(s) added"
)SH";
}

Result<std::string> GuestProvisioner::run_root(AgentLink& link,
                                               const std::vector<std::string>& argv,
                                               const std::string& input) {
  proto::ExecRequest req;
  req.argv = argv;
  req.user = "root";
  req.cwd = "/";
  auto ch = link.open_exec(req, 30s);
  if (!ch) return ch.error();
  auto r = run_guest_command(*ch, input);
  if (!r) return r.error();
  if (r->exit_code != 0)
    return err("exit status " + std::to_string(r->exit_code) + ": " + trim(r->output));
  return r->output;
}

Result<void> GuestProvisioner::install_cas(AgentLink& link, const std::string& bundle) {
  if (bundle.empty()) return ok();
  auto out = run_root(link, {"sh", "-c", install_script(image::sha256_hex(bundle))}, bundle);
  if (!out) return out.error().wrap("install the host's CA certificates in the guest");
  if (!trim(*out).empty()) log_.info(trim(*out));
  return ok();
}

Result<void> GuestProvisioner::remove_cas(AgentLink& link) {
  std::string script = std::string("set -eu\nif [ -d ") + kGuestHostCaDir + " ]; then rm -rf " +
                       kGuestHostCaDir +
                       "; update-ca-certificates --fresh >/dev/null 2>&1; fi\n"
                       "rm -f /etc/sbx/host-ca.sha256 /etc/profile.d/sbx-host-ca.sh\n";
  auto out = run_root(link, {"sh", "-c", script}, "");
  if (!out) return out.error().wrap("remove the host's CA certificates from the guest");
  return ok();
}

Result<void> GuestProvisioner::write_files(AgentLink& link, const std::vector<kit::KitFile>& files,
                                           const std::string& user) {
  for (auto& f : files) {
    // "~/" is the user's home, resolved in the guest; the path travels as
    // an argument, never through the shell's parser.
    std::string script =
        "set -eu\nu=\"$1\"; p=\"$2\"; mode=\"$3\"\n"
        "case \"$p\" in \"~/\"*) h=$(getent passwd \"$u\" | cut -d: -f6); p=\"$h/${p#\\~/}\";; "
        "esac\n"
        "mkdir -p \"$(dirname \"$p\")\"\ncat > \"$p\"\nchmod \"$mode\" \"$p\"\n"
        "case \"$2\" in \"~/\"*) chown \"$u:\" \"$p\";; esac\n";
    char mode[8];
    std::snprintf(mode, sizeof mode, "%o", f.mode & 07777);
    auto out = run_root(link, {"sh", "-c", script, "sh", user, f.path, mode}, f.content);
    if (!out) return out.error().wrap("write kit file " + f.path + " in the guest");
  }
  return ok();
}

}  // namespace sbx::daemon
