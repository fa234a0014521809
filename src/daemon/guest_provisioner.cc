#include "daemon/guest_provisioner.h"

#include <cstdio>

#include "base/strings.h"
#include "daemon/guest_command.h"
#include "image/sha256.h"
#include "image/tar_writer.h"
#include "kit/host_config.h"

namespace sbx::daemon {

using namespace std::chrono_literals;

std::string GuestProvisioner::host_bundle() const {
  return host_ca_bundle(host_ca_files(sources_));
}

std::string GuestProvisioner::install_script(const std::string& bundle_sha256) {
  // Certificates already in the guest's bundle are skipped (on a host whose
  // store is Debian's plus a proxy CA, only that one is new). The new ones
  // are appended to the bundle every TLS client here reads (curl, git,
  // OpenSSL, pip through certifi's Debian patch, Node through
  // NODE_EXTRA_CA_CERTS), and kept as .crt files so a later
  // update-ca-certificates keeps them. update-ca-certificates itself is not
  // run: under TCG it took minutes. The bundle as it was is kept, so a
  // changed host bundle (or remove_cas) starts from it again.
  return std::string(R"SH(set -eu
dir=)SH") +
         kGuestHostCaDir + R"SH(
bundle=)SH" +
         kGuestCaBundle + R"SH(
mark=/etc/sbx/host-ca.sha256
orig=/etc/sbx/ca-bundle.orig
want=)SH" +
         bundle_sha256 + R"SH(
if [ -f "$mark" ] && [ "$(cat "$mark")" = "$want" ]; then cat >/dev/null; exit 0; fi
mkdir -p /etc/sbx /etc/profile.d
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.n"' EXIT
cat > "$tmp"
if [ -f "$orig" ]; then cp "$orig" "$bundle"; elif [ -f "$bundle" ]; then cp "$bundle" "$orig"; else : > "$orig"; cp "$orig" "$bundle"; fi
rm -rf "$dir"
mkdir -p "$dir"
awk -v dir="$dir" -v out="$tmp.n" '
  FNR == NR {
    if ($0 ~ /-----BEGIN CERTIFICATE-----/) { body = ""; inc = 1; next }
    if ($0 ~ /-----END CERTIFICATE-----/) { have[body] = 1; inc = 0; next }
    if (inc) { sub(/\r$/, ""); body = body $0 }
    next
  }
  /-----BEGIN CERTIFICATE-----/ { body = ""; pem = "-----BEGIN CERTIFICATE-----\n"; inc = 1; next }
  inc {
    sub(/\r$/, "")
    pem = pem $0 "\n"
    if ($0 ~ /-----END CERTIFICATE-----/) {
      inc = 0
      if (!(body in have)) {
        n++; f = sprintf("%s/host-%03d.crt", dir, n)
        printf "%s", pem > f; close(f); printf "%s", pem >> out; have[body] = 1
      }
    } else body = body $0
  }
  END { print n + 0 }
' "$orig" "$tmp" > "$tmp.count"
added=$(cat "$tmp.count"); rm -f "$tmp.count"
if [ "$added" -gt 0 ]; then cat "$tmp.n" >> "$bundle"; else rmdir "$dir"; fi
printf '%s\n' "$want" > "$mark"
printf 'export NODE_EXTRA_CA_CERTS=%s\n' "$bundle" > /etc/profile.d/sbx-host-ca.sh
echo "sbx: $added host CA certificate(s) added"
)SH";
}

Result<std::string> GuestProvisioner::run_as(AgentLink& link, const std::string& user,
                                             const std::vector<std::string>& argv,
                                             const std::string& input) {
  proto::ExecRequest req;
  req.argv = argv;
  req.user = user;
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
  std::string script = std::string("set -eu\nrm -rf ") + kGuestHostCaDir +
                       "\nif [ -f /etc/sbx/ca-bundle.orig ]; then cp /etc/sbx/ca-bundle.orig " +
                       kGuestCaBundle +
                       "; fi\n"
                       "rm -f /etc/sbx/ca-bundle.orig /etc/sbx/host-ca.sha256 "
                       "/etc/profile.d/sbx-host-ca.sh\n";
  auto out = run_root(link, {"sh", "-c", script}, "");
  if (!out) return out.error().wrap("remove the host's CA certificates from the guest");
  return ok();
}

Result<void> GuestProvisioner::write_files(AgentLink& link, const std::vector<kit::KitFile>& files,
                                           const std::string& user) {
  for (auto& f : files) {
    // "~/" is the home of the user the script runs as, resolved in the
    // guest; the path travels as an argument, never through the shell's
    // parser.
    bool in_home = f.path.rfind("~/", 0) == 0;
    std::string script =
        "set -eu\np=\"$1\"; mode=\"$2\"\n"
        "case \"$p\" in \"~/\"*) h=$(getent passwd \"$(id -un)\" | cut -d: -f6); "
        "p=\"$h/${p#\\~/}\";; esac\n"
        "mkdir -p \"$(dirname \"$p\")\"\ncat > \"$p\"\nchmod \"$mode\" \"$p\"\n";
    char mode[8];
    std::snprintf(mode, sizeof mode, "%o", f.mode & 07777);
    auto out =
        run_as(link, in_home ? user : "root", {"sh", "-c", script, "sh", f.path, mode}, f.content);
    if (!out) return out.error().wrap("write kit file " + f.path + " in the guest");
  }
  return ok();
}

Result<size_t> GuestProvisioner::copy_host_config(
    AgentLink& link, const std::vector<kit::HostConfig>& wanted, const std::string& host_home,
    const std::string& user, const std::function<void(const std::string&)>& skipped,
    const std::string& guest_home) {
  auto sel = kit::select_host_config(wanted, host_home);
  for (auto& s : sel.skipped)
    if (skipped) skipped("~/" + s.path + " not copied: " + s.reason);
  if (sel.files.empty()) return size_t{0};
  // Paths are relative and checked by the selection; tar makes the missing
  // directories (the user's, with the user's umask).
  image::TarWriter tar;
  for (auto& f : sel.files) tar.file(f.path, f.content, {f.mode & 0777, 0, 0});
  std::string script =
      "set -eu\nh=\"$1\"\n"
      "if [ -z \"$h\" ]; then h=$(getent passwd \"$(id -un)\" | cut -d: -f6); fi\n"
      "cd \"$h\"\ntar -x -f - --no-same-owner\n";
  auto out = run_as(link, user, {"sh", "-c", script, "sh", guest_home}, tar.finish());
  if (!out) return out.error().wrap("copy your agent settings (host_config) into the guest");
  return sel.files.size();
}

}  // namespace sbx::daemon
