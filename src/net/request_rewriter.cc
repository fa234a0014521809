#include "net/request_rewriter.h"

#include <cctype>
#include <charconv>

#include "base/base64.h"
#include "net/hostname.h"
#include "net/http_parser.h"

namespace sbx::net {

namespace {

Error refuse(int code, const std::string& why) { return err(code, why); }

void replace_all(std::string& s, const std::string& from, const std::string& to, bool& hit) {
  if (from.empty()) return;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
    hit = true;
  }
}

// Parses a chunk-size line "HEX[;ext]" (without CRLF).
std::optional<uint64_t> chunk_size(std::string_view line) {
  size_t end = line.find(';');
  std::string_view hex = trim_ows(line.substr(0, end));
  if (hex.empty() || hex.size() > 15) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), v, 16);
  if (ec != std::errc() || p != hex.data() + hex.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string credential_header_value(const CredentialRule& rule) {
  switch (rule.format) {
    case CredentialFormat::kBearer:
      return "Bearer " + rule.value;
    case CredentialFormat::kBasicToken:
      return "Basic " + base64_encode("x-access-token:" + rule.value);
    case CredentialFormat::kRaw:
      break;
  }
  return rule.value;
}

Result<std::string> RequestRewriter::on_head(const HttpRequestHead& h,
                                             std::vector<RequestSeen>& seen) {
  if (h.method == "CONNECT") return refuse(400, "CONNECT inside a TLS tunnel is not allowed");
  if (h.target != "*" && (h.target.empty() || h.target[0] != '/'))
    return refuse(400, "request target '" + h.target.substr(0, 200) +
                           "' is not origin-form; inside a tunnel only '/path' is accepted");
  // Exactly one Host, naming the tunnel's host: no second host on this
  // connection, whatever the first request was.
  std::optional<std::string> host_value;
  for (const auto& [k, v] : h.headers) {
    if (!iequals(k, "host")) continue;
    if (host_value) return refuse(400, "more than one Host header");
    host_value = v;
  }
  if (!host_value) return refuse(400, "request without a Host header");
  auto hp = parse_authority(*host_value, port_);
  auto name = hp ? normalize_host(hp->host) : Result<std::string>(err("bad Host"));
  if (!hp || !name || *name != host_ || hp->port != port_)
    return refuse(421, "Host header '" + host_value->substr(0, 255) +
                           "' does not match the tunnel's host '" + host_ + ":" +
                           std::to_string(port_) + "'");
  // Framing of the body that follows.
  std::optional<std::string> te, cl, upgrade;
  for (const auto& [k, v] : h.headers) {
    if (iequals(k, "transfer-encoding")) {
      if (te) return refuse(400, "more than one Transfer-Encoding header");
      te = v;
    } else if (iequals(k, "content-length")) {
      cl = v;
    } else if (iequals(k, "upgrade")) {
      upgrade = v;
    }
  }
  remaining_ = 0;
  if (te) {
    if (!iequals(*te, "chunked")) return refuse(400, "Transfer-Encoding other than chunked");
    state_ = State::kChunkSize;
  } else if (cl) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), n);
    if (ec != std::errc() || p != cl->data() + cl->size() || cl->size() > 18)
      return refuse(400, "bad Content-Length");
    remaining_ = n;
    state_ = State::kBody;
  } else {
    state_ = State::kHead;
  }
  upgrade_ = false;
  if (upgrade) {
    if (!iequals(*upgrade, "websocket")) return refuse(400, "only WebSocket upgrades are relayed");
    upgrade_ = true;
  }

  // Injection: replace the rule headers the request carries; if it carries
  // none, add the first rule's header.
  bool any_present = false;
  for (const auto& r : rules_)
    for (const auto& [k, v] : h.headers)
      if (!r.header.empty() && iequals(k, r.header)) any_present = true;
  std::vector<bool> used(rules_.size(), false);
  std::string out = h.method + " " + h.target + " " + h.version + "\r\n";
  for (const auto& [k, v] : h.headers) {
    size_t match = rules_.size();
    for (size_t i = 0; i < rules_.size(); ++i)
      if (!rules_[i].header.empty() && iequals(k, rules_[i].header)) {
        match = i;
        break;
      }
    if (match == rules_.size()) {
      out += k + ": " + v + "\r\n";
    } else if (!used[match]) {
      used[match] = true;
      out += k + ": " + credential_header_value(rules_[match]) + "\r\n";
    }  // a repeated credential header is dropped
  }
  if (!any_present)
    for (size_t i = 0; i < rules_.size(); ++i)
      if (!rules_[i].header.empty()) {
        used[i] = true;
        out += rules_[i].header + ": " + credential_header_value(rules_[i]) + "\r\n";
        break;
      }
  out += "\r\n";
  for (size_t i = 0; i < rules_.size(); ++i) {
    bool hit = false;
    replace_all(out, rules_[i].placeholder, rules_[i].value, hit);
    if (hit) used[i] = true;
  }
  RequestSeen s;
  s.method = h.method.substr(0, 32);
  s.path = h.target.substr(0, 2048);
  for (size_t i = 0; i < rules_.size(); ++i)
    if (used[i] && s.services.find(rules_[i].service) == std::string::npos)
      s.services += (s.services.empty() ? "" : ",") + rules_[i].service;
  seen.push_back(std::move(s));
  if (upgrade_ && state_ == State::kHead) state_ = State::kPassthrough;
  return out;
}

Result<std::string> RequestRewriter::feed(std::string_view in, std::vector<RequestSeen>& seen) {
  std::string out;
  if (state_ == State::kPassthrough) return std::string(in);
  buf_.append(in);
  size_t pos = 0;  // consumed from buf_
  for (;;) {
    std::string_view rest = std::string_view(buf_).substr(pos);
    if (state_ == State::kPassthrough) {
      out.append(rest);
      pos = buf_.size();
      break;
    }
    if (state_ == State::kHead) {
      if (rest.empty()) break;
      auto head = parse_request_head(rest);
      if (!head) return refuse(400, head.error().message);
      if (!head->has_value()) {
        if (rest.size() >= kMaxRequestHead) return refuse(400, "request head too large");
        break;
      }
      auto rewritten = on_head(**head, seen);
      if (!rewritten) return rewritten.error();
      out += *rewritten;
      pos += (*head)->head_size;
      continue;
    }
    if (state_ == State::kBody || state_ == State::kChunkData) {
      if (remaining_ > 0) {
        if (rest.empty()) break;
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, rest.size()));
        out.append(rest.substr(0, n));
        pos += n;
        remaining_ -= n;
        if (remaining_ > 0) break;
      }
      if (state_ == State::kBody)
        state_ = upgrade_ ? State::kPassthrough : State::kHead;
      else
        state_ = State::kChunkDataEnd;
      continue;
    }
    // Line-based states: chunk-size line, CRLF after data, trailers.
    // The bound holds however the guest segments its bytes: a line that
    // came whole is measured too, and a pending '\r' may still end one.
    size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos) {
      if (rest.size() > kMaxChunkLine + 1) return refuse(400, "chunk framing line too long");
      break;
    }
    if (eol > kMaxChunkLine) return refuse(400, "chunk framing line too long");
    std::string_view line = rest.substr(0, eol);
    out.append(rest.substr(0, eol + 2));
    pos += eol + 2;
    if (state_ == State::kChunkDataEnd) {
      if (!line.empty()) return refuse(400, "chunk data not followed by CRLF");
      state_ = State::kChunkSize;
    } else if (state_ == State::kChunkSize) {
      auto n = chunk_size(line);
      if (!n) return refuse(400, "bad chunk size");
      if (*n == 0) {
        state_ = State::kTrailer;
      } else {
        remaining_ = *n;
        state_ = State::kChunkData;
      }
    } else if (state_ == State::kTrailer) {
      if (line.empty()) state_ = upgrade_ ? State::kPassthrough : State::kHead;
    }
  }
  buf_.erase(0, pos);
  return out;
}

}  // namespace sbx::net
