// A real coding agent in a real microVM: the claude kit's layer (Node from
// the npm registry, @anthropic-ai/claude-code from the host's npm registry)
// is built over the shell template, and the agent runs on a real terminal
// (tmux). Anthropic's API is not reachable here, so a fake HTTPS upstream on
// the host's loopback plays api.anthropic.com through sandboxd's test-only
// upstream override: the agent's requests leave through the proxy, are
// decided and logged by the policy, carry the key stored on the host (the
// guest only ever sees the sentinel) and get a scripted reply that the
// agent shows on its screen.
//
// The same fake, under a name no proxy intercepts, is signed by a CA the
// host trusts (handed to sandboxd as SSL_CERT_FILE, the way the host's
// tools name an extra CA): the guest's Node and npm accept it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/fake_https_upstream.h"
#include "harness/sandbox_suite.h"
#include "harness/tmux_session.h"

namespace sbx::testing {
namespace {

using namespace std::chrono_literals;

const char* kKey = "sk-ant-api03-AGENTTEST-5e1c7d9b3a";
const char* kReply = "pong-from-the-fake-upstream-7731";
const char* kRegistry = "registry.sbx-test.invalid";

// The Messages API as far as a client needs it: a streamed or plain reply.
std::string messages_reply(const UpstreamRequest& r) {
  if (r.method == "POST" && r.path.rfind("/v1/messages", 0) == 0 &&
      r.path.find("count_tokens") == std::string::npos) {
    nlohmann::json msg = {{"id", "msg_sbx_test"},
                          {"type", "message"},
                          {"role", "assistant"},
                          {"model", "claude-sonnet-4-5"},
                          {"content", nlohmann::json::array()},
                          {"stop_reason", nullptr},
                          {"stop_sequence", nullptr},
                          {"usage", {{"input_tokens", 1}, {"output_tokens", 1}}}};
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (!body.is_object() || !body.value("stream", false)) {
      msg["content"] = {{{"type", "text"}, {"text", kReply}}};
      msg["stop_reason"] = "end_turn";
      return FakeHttpsUpstream::response("200 OK", "application/json", msg.dump());
    }
    auto event = [](const std::string& type, const nlohmann::json& data) {
      return "event: " + type + "\ndata: " + data.dump() + "\n\n";
    };
    std::string sse =
        event("message_start", {{"type", "message_start"}, {"message", msg}}) +
        event("content_block_start", {{"type", "content_block_start"},
                                      {"index", 0},
                                      {"content_block", {{"type", "text"}, {"text", ""}}}}) +
        event("content_block_delta", {{"type", "content_block_delta"},
                                      {"index", 0},
                                      {"delta", {{"type", "text_delta"}, {"text", kReply}}}}) +
        event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}) +
        event("message_delta",
              {{"type", "message_delta"},
               {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
               {"usage", {{"output_tokens", 1}}}}) +
        event("message_stop", {{"type", "message_stop"}});
    return FakeHttpsUpstream::response("200 OK", "text/event-stream", sse);
  }
  if (r.path == "/-/ping" || r.path.rfind("/ping", 0) == 0)
    return FakeHttpsUpstream::response("200 OK", "application/json", "{}");
  return FakeHttpsUpstream::response(
      "404 Not Found", "application/json",
      R"({"type":"error","error":{"type":"not_found_error","message":"sbx fake upstream"}})");
}

FakeHttpsUpstream& upstream() {
  static FakeHttpsUpstream u(messages_reply);
  return u;
}

class ClaudeAgent : public SandboxSuite<ClaudeAgent> {
 public:
  static SandboxOptions options() {
    std::string to = "=127.0.0.1:" + std::to_string(upstream().port());
    return {.name = "claude-t",
            .workspace = "agent-ws",
            .agent = "claude",
            .create_flags = {"--memory", "1536m"},
            .env = {{"SBX_TEST_UPSTREAM_OVERRIDE",
                     std::string("api.anthropic.com:443") + to + "," + kRegistry + ":443" + to},
                    {"SSL_CERT_FILE", upstream().ca_file()}},
            .guest_user = ""};
  }
  void SetUp() override {
    SandboxSuite::SetUp();
    ASSERT_TRUE(upstream().ok());
    upstream().clear();
  }
};

TEST_F(ClaudeAgent, BuildShowedProgressAndTheAgentAnswersAsRootAndAsTheSandboxUser) {
  // The build (or the cached template) said what it was doing.
  EXPECT_NE(create_result().all().find("claude"), std::string::npos) << create_result().all();
  for (const char* user : {"root", "agent"}) {
    auto v = sbx({"exec", "-u", user, "claude-t", "--", "claude", "--version"});
    EXPECT_EQ(v.code, 0) << user << ": " << v.all();
    EXPECT_NE(v.out.find("(Claude Code)"), std::string::npos) << user << ": " << v.all();
  }
}

TEST_F(ClaudeAgent, PrintModeReplyComesThroughTheProxyWithTheHostsKey) {
  ASSERT_EQ(sbx({"secret", "set", "claude-t", "anthropic", "-t", kKey}).code, 0);
  // On a real terminal, as a user runs it; ARGS after -- go to the agent.
  TmuxSession t(sbx_cli_path() + " run claude-t -- -p 'Reply with pong'; echo sbx-exit=$?");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.wait_for("sbx-exit=", 600s)) << t.screen();
  std::string screen = t.screen();
  EXPECT_NE(screen.find(kReply), std::string::npos) << screen;
  EXPECT_NE(screen.find("sbx-exit=0"), std::string::npos) << screen;

  auto reqs = upstream().requests();
  bool messages = false;
  for (auto& r : reqs) {
    // Every request that reached "Anthropic" carries the host's key, none
    // the sentinel the guest holds.
    EXPECT_EQ(r.sni, "api.anthropic.com") << r.head;
    EXPECT_EQ(r.header("x-api-key"), kKey) << r.head;
    EXPECT_EQ(r.head.find("proxy-managed"), std::string::npos) << r.head;
    if (r.method == "POST" && r.path.rfind("/v1/messages", 0) == 0) messages = true;
  }
  EXPECT_TRUE(messages) << reqs.size() << " requests, none to /v1/messages";
  // The guest sees only the sentinel.
  auto env = sbx({"exec", "claude-t", "--", "sh", "-c", "echo \"$ANTHROPIC_API_KEY\""});
  EXPECT_EQ(env.out, "proxy-managed\n") << env.all();

  // The policy decided the connection and the network log has it.
  auto log = sbx({"policy", "log", "claude-t", "--json"});
  ASSERT_EQ(log.code, 0) << log.all();
  auto j = nlohmann::json::parse(log.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << log.out;
  bool allowed = false;
  for (auto& e : j)
    if (e.value("host", "") == "api.anthropic.com" && e.value("verdict", "") == "allow")
      allowed = true;
  EXPECT_TRUE(allowed) << log.out;
  EXPECT_EQ(log.out.find(kKey), std::string::npos);
}

TEST_F(ClaudeAgent, InteractiveSessionReachesTheAgentsInterface) {
  TmuxSession t(sbx_cli_path() + " run claude-t");
  ASSERT_TRUE(t.ok());
  // Whatever its first screen (onboarding or prompt), Claude Code names
  // itself on it; the shell agent or an error would not.
  ASSERT_TRUE(t.wait_for("Claude Code", 600s)) << t.screen();
  EXPECT_EQ(t.screen().find("cannot be used with root"), std::string::npos) << t.screen();
}

TEST_F(ClaudeAgent, NodeTrustsTheSbxCaAndNodeAndNpmTrustTheHostsCa) {
  ASSERT_EQ(sbx({"policy", "allow", "network", kRegistry}).code, 0);
  // The host's CA (the fake's, given to sandboxd as SSL_CERT_FILE) signs
  // the relayed registry; sbx's own CA signs the intercepted API host.
  // Node's https module ignores HTTPS_PROXY, so the script opens the
  // CONNECT tunnel itself, as Claude Code's fetch does, and runs TLS over
  // it with Node's default trust (system store + NODE_EXTRA_CA_CERTS).
  // No `agent` option: with one (even `false`) Node ignores
  // createConnection and resolves the host itself.
  const std::string get =
      "node -e \"const u = new URL(process.argv[1]), p = new URL(process.env.HTTPS_PROXY); "
      "const fail = e => { console.error('node:', e.message); process.exit(1); }; "
      "require('http').request({host: p.hostname, port: p.port, method: 'CONNECT', "
      "path: u.hostname + ':443'}).on('connect', (res, sock) => { "
      "if (res.statusCode !== 200) fail(new Error('CONNECT ' + res.statusCode)); "
      "require('https').get({host: u.hostname, path: u.pathname, "
      "createConnection: () => require('tls').connect({socket: sock, servername: u.hostname})}, "
      "r => { r.resume(); r.on('end', () => console.log('status', r.statusCode)); })"
      ".on('error', fail); }).on('error', fail).end();\" ";
  for (std::string url : {std::string("https://") + kRegistry + "/ping",
                          std::string("https://api.anthropic.com/v1/models")}) {
    auto n = sbx({"exec", "claude-t", "--", "sh", "-c", get + url});
    EXPECT_EQ(n.code, 0) << url << ": " << n.all();
    EXPECT_NE(n.out.find("status "), std::string::npos) << url << ": " << n.all();
  }
  auto npm = sbx({"exec", "claude-t", "--", "npm", "ping", "--registry",
                  std::string("https://") + kRegistry + "/"});
  EXPECT_EQ(npm.code, 0) << npm.all();
  // Both answers came from the fake, under the names the guest asked for.
  bool registry = false, api = false;
  for (auto& r : upstream().requests()) {
    if (r.sni == kRegistry) registry = true;
    if (r.sni == "api.anthropic.com") api = true;
  }
  EXPECT_TRUE(registry);
  EXPECT_TRUE(api);
}

}  // namespace
}  // namespace sbx::testing
