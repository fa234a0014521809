#include "proto/frame.h"

#include <cstring>

namespace sbx::proto {

namespace {
void put_u32(std::string& out, uint32_t v) {
  char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8),
               static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
  out.append(b, 4);
}
uint32_t get_u32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | static_cast<uint32_t>(u[1]) << 8 |
         static_cast<uint32_t>(u[2]) << 16 | static_cast<uint32_t>(u[3]) << 24;
}
}  // namespace

bool known_type(uint8_t t) { return t >= 1 && t <= 15; }

const char* type_name(FrameType t) {
  switch (t) {
    case FrameType::kHello: return "HELLO";
    case FrameType::kHelloAck: return "HELLO_ACK";
    case FrameType::kControl: return "CONTROL";
    case FrameType::kOpen: return "OPEN";
    case FrameType::kOpenOk: return "OPEN_OK";
    case FrameType::kOpenFail: return "OPEN_FAIL";
    case FrameType::kData: return "DATA";
    case FrameType::kDataErr: return "DATA_ERR";
    case FrameType::kWindow: return "WINDOW";
    case FrameType::kEof: return "EOF";
    case FrameType::kExit: return "EXIT";
    case FrameType::kClose: return "CLOSE";
    case FrameType::kResize: return "RESIZE";
    case FrameType::kSignal: return "SIGNAL";
    case FrameType::kDatagram: return "DATAGRAM";
  }
  return "?";
}

void encode_into(std::string& out, uint32_t channel, FrameType type,
                 std::string_view payload) {
  put_u32(out, static_cast<uint32_t>(payload.size()));
  put_u32(out, channel);
  out.push_back(static_cast<char>(type));
  out.append(payload);
}

std::string encode(const Frame& f) {
  std::string out;
  out.reserve(kHeaderSize + f.payload.size());
  encode_into(out, f.channel, f.type, f.payload);
  return out;
}

Result<std::optional<Frame>> FrameDecoder::next() {
  if (failed_) return err("frame decoder: stream is out of sync");
  if (buf_.size() < kHeaderSize) return std::optional<Frame>();
  uint32_t len = get_u32(buf_.data());
  uint32_t channel = get_u32(buf_.data() + 4);
  uint8_t type = static_cast<uint8_t>(buf_[8]);
  if (len > max_payload_) {
    failed_ = true;
    return err("frame decoder: payload of " + std::to_string(len) +
               " bytes exceeds the limit of " + std::to_string(max_payload_));
  }
  if (!known_type(type)) {
    failed_ = true;
    return err("frame decoder: unknown frame type " + std::to_string(type));
  }
  if (buf_.size() < kHeaderSize + len) return std::optional<Frame>();
  Frame f;
  f.channel = channel;
  f.type = static_cast<FrameType>(type);
  f.payload.assign(buf_, kHeaderSize, len);
  buf_.erase(0, kHeaderSize + len);
  return std::optional<Frame>(std::move(f));
}

bool FrameDecoder::resync(FrameType type, std::string_view nonce) {
  // A HELLO frame's header: len, channel 0xFFFFFFFF, type; then the magic.
  const size_t prefix = kHeaderSize + kHelloMagic.size();
  size_t pos = 0;
  for (;;) {
    size_t m = buf_.find(kHelloMagic, pos + kHeaderSize);
    if (m == std::string::npos) {
      // Keep only a tail that could still grow into a header plus magic.
      if (buf_.size() > prefix) buf_.erase(0, buf_.size() - prefix);
      return false;
    }
    size_t start = m - kHeaderSize;
    uint32_t len = get_u32(buf_.data() + start);
    bool header_ok = get_u32(buf_.data() + start + 4) == kHelloChannel &&
                     static_cast<uint8_t>(buf_[start + 8]) ==
                         static_cast<uint8_t>(type) &&
                     len >= kHelloMagic.size() + kNonceSize && len <= max_payload_;
    if (header_ok && !nonce.empty()) {
      size_t n = m + kHelloMagic.size();
      if (buf_.size() < n + nonce.size()) {
        buf_.erase(0, start);
        return false;  // wait for the nonce bytes
      }
      header_ok = buf_.compare(n, nonce.size(), nonce) == 0;
    }
    if (header_ok) {
      buf_.erase(0, start);
      failed_ = false;
      return true;
    }
    pos = start + 1;
  }
}

std::string hello_payload(std::string_view nonce, std::string_view json) {
  std::string p(kHelloMagic);
  p.append(nonce);
  p.append(json);
  return p;
}

Result<HelloBody> parse_hello(std::string_view payload) {
  if (payload.size() < kHelloMagic.size() + kNonceSize ||
      payload.substr(0, kHelloMagic.size()) != kHelloMagic)
    return err("malformed HELLO payload");
  HelloBody b;
  b.nonce = std::string(payload.substr(kHelloMagic.size(), kNonceSize));
  b.json = std::string(payload.substr(kHelloMagic.size() + kNonceSize));
  return b;
}

std::string encode_u32(uint32_t v) {
  std::string s;
  put_u32(s, v);
  return s;
}

Result<uint32_t> decode_u32(std::string_view p) {
  if (p.size() != 4) return err("expected a 4-byte value, got " + std::to_string(p.size()));
  return get_u32(p.data());
}

std::string encode_datagram(uint32_t tag, std::string_view body) {
  std::string s = encode_u32(tag);
  s.append(body);
  return s;
}

Result<Datagram> decode_datagram(std::string_view p) {
  if (p.size() < 4) return err("datagram: " + std::to_string(p.size()) + " bytes, shorter than its tag");
  if (p.size() - 4 > kMaxDatagram)
    return err("datagram: body of " + std::to_string(p.size() - 4) + " bytes exceeds " +
               std::to_string(kMaxDatagram));
  return Datagram{get_u32(p.data()), std::string(p.substr(4))};
}

std::string encode_resize(uint16_t rows, uint16_t cols) {
  std::string s;
  s.push_back(static_cast<char>(rows & 0xff));
  s.push_back(static_cast<char>(rows >> 8));
  s.push_back(static_cast<char>(cols & 0xff));
  s.push_back(static_cast<char>(cols >> 8));
  return s;
}

Result<std::pair<uint16_t, uint16_t>> decode_resize(std::string_view p) {
  if (p.size() != 4) return err("malformed RESIZE payload");
  auto u = reinterpret_cast<const unsigned char*>(p.data());
  return std::pair<uint16_t, uint16_t>{static_cast<uint16_t>(u[0] | u[1] << 8),
                                       static_cast<uint16_t>(u[2] | u[3] << 8)};
}

}  // namespace sbx::proto
