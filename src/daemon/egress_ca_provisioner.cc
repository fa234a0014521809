#include "daemon/egress_ca_provisioner.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/strings.h"

namespace sbx::daemon {

std::vector<std::string> EgressCaProvisioner::exec_env() {
  std::string b = kEgressCaGuestBundle;
  // Node gets the whole system bundle, not the sbx CA alone: it also holds
  // the host's CAs (guest_provisioner.h), which npm behind a TLS-inspecting
  // proxy needs.
  return {"NODE_EXTRA_CA_CERTS=" + b, "SSL_CERT_FILE=" + b,
          "REQUESTS_CA_BUNDLE=" + b, "PIP_CERT=" + b, "CURL_CA_BUNDLE=" + b};
}

std::string EgressCaProvisioner::script() const {
  // A line of the certificate's base64 that no other certificate shares
  // (the one before END is signature bytes): "is it in the bundle yet".
  std::string marker;
  std::vector<std::string> lines = split(ca_pem_, '\n');
  for (size_t i = 1; i < lines.size(); ++i)
    if (starts_with(lines[i], "-----END")) {
      marker = lines[i - 1];
      break;
    }
  // Appended to the bundle, not through update-ca-certificates, which takes
  // minutes under TCG; the file in ca-certificates/ keeps it in the bundle
  // when something in the guest regenerates it later.
  std::string f = kEgressCaGuestFile, b = kEgressCaGuestBundle;
  std::string profile;
  for (const auto& e : exec_env()) profile += "export " + e + "\n";
  return "set -e\n"
         "mkdir -p /usr/local/share/ca-certificates /etc/ssl/certs /etc/profile.d\n"
         "cat > " +
         f + ".tmp <<'SBX_CA_EOF'\n" + ca_pem_ +
         "SBX_CA_EOF\n"
         "chmod 644 " +
         f + ".tmp && mv " + f + ".tmp " + f +
         "\n"
         "if ! grep -qF '" +
         marker + "' " + b + " 2>/dev/null; then cat " + f + " >> " + b +
         "; fi\n"
         "if command -v git >/dev/null 2>&1; then git config --system http.sslCAInfo " +
         b +
         " || true; fi\n"
         "cat > /etc/profile.d/sbx-ca.sh <<'SBX_PROFILE_EOF'\n" +
         profile + "SBX_PROFILE_EOF\n";
}

Result<void> EgressCaProvisioner::provision(AgentLink& link) const {
  proto::ExecRequest req;
  req.argv = {"/bin/sh", "-c", script()};
  req.user = "root";
  req.cwd = "/";
  auto ch = link.open_exec(req, timeout_);
  if (!ch) return ch.error().wrap("install the sbx CA in the guest");
  (void)(*ch)->close_stdin();  // nothing to send: a child that reads stdin must see EOF
  // A guest that never answers must not hold the caller: kill it late.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock l(mu);
    if (!cv.wait_for(l, timeout_, [&] { return done; })) (*ch)->abort();
  });
  std::string output;
  Result<void> result = err("install the sbx CA in the guest: no exit status");
  for (;;) {
    auto ev = (*ch)->next_event();
    using K = GuestChannel::Event::Kind;
    if (ev.kind == K::kStdout || ev.kind == K::kStderr) {
      (*ch)->consumed(ev.data.size());
      if (output.size() < 4096) output += ev.data.substr(0, 4096 - output.size());
      continue;
    }
    if (ev.kind == K::kExit) {
      if (ev.exit.exit_code == 0 && ev.exit.signal == 0)
        result = {};
      else
        result = err("install the sbx CA in the guest: exit " + std::to_string(ev.exit.exit_code) +
                     ": " + output);
      break;
    }
    if (ev.kind == K::kError || ev.kind == K::kClosed) {
      result = err("install the sbx CA in the guest: " + ev.data);
      break;
    }
  }
  {
    std::lock_guard l(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  return result;
}

}  // namespace sbx::daemon
