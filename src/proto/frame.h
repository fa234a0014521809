// The agent link's wire format: [u32 len][u32 channel][u8 type][payload],
// little-endian, `len` counting the payload only. Pure codec, no I/O. The
// same framing carries exec streams between the CLI and sandboxd.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::proto {

/// Protocol version exchanged in HELLO; bumped on incompatible changes.
inline constexpr uint32_t kProtocolVersion = 1;
/// Bytes in a frame header.
inline constexpr size_t kHeaderSize = 9;
/// Largest payload either side accepts. Anything larger is a protocol error.
inline constexpr uint32_t kMaxPayload = 1u << 20;
/// Largest DATA payload a sender produces (keeps channels interleaved).
inline constexpr uint32_t kDataChunk = 64u << 10;
/// Credit each side grants per channel and direction before any WINDOW.
inline constexpr uint32_t kInitialWindow = 1u << 20;
/// Channel 0 carries control requests; HELLO uses a reserved channel.
inline constexpr uint32_t kControlChannel = 0;
inline constexpr uint32_t kHelloChannel = 0xFFFFFFFFu;
/// DATAGRAM frames (DNS queries and answers) travel on this reserved channel.
inline constexpr uint32_t kDnsChannel = 0xFFFFFFFEu;
/// Channels the guest opens (egress connections) have this bit set; the host
/// only ever opens channels below it, so the two sides never collide.
inline constexpr uint32_t kGuestChannelBit = 0x80000000u;
/// Largest datagram body (after the tag) in a DATAGRAM frame.
inline constexpr size_t kMaxDatagram = 4096;
/// Magic at the start of HELLO/HELLO_ACK payloads, used to resynchronise.
inline constexpr std::string_view kHelloMagic = "SBXHELLO";
inline constexpr size_t kNonceSize = 16;

enum class FrameType : uint8_t {
  kHello = 1,     ///< host -> guest: magic, nonce, JSON {version}
  kHelloAck = 2,  ///< guest -> host: magic, same nonce, JSON {version, ...}
  kControl = 3,   ///< channel 0: JSON request or response
  kOpen = 4,      ///< open a channel: JSON ExecRequest
  kOpenOk = 5,
  kOpenFail = 6,  ///< JSON {error, code}
  kData = 7,      ///< stdin (to guest) or stdout (from guest)
  kDataErr = 8,   ///< stderr (from guest)
  kWindow = 9,    ///< u32 credit returned to the sender
  kEof = 10,      ///< sender will send no more data on this channel
  kExit = 11,     ///< JSON {exit_code, signal}; the channel is then closed
  kClose = 12,    ///< abort the channel
  kResize = 13,   ///< u16 rows, u16 cols
  kSignal = 14,   ///< u8 signal number for the process group
  /// kDnsChannel only: u32 tag + one DNS message. Guest -> host: a query the
  /// stub received; host -> guest: the answer, echoing the query's tag.
  kDatagram = 15,
};

/// True if `t` is a type this version knows.
bool known_type(uint8_t t);
/// Short name for logs.
const char* type_name(FrameType t);

struct Frame {
  uint32_t channel = 0;
  FrameType type = FrameType::kData;
  std::string payload;
};

/// Serialises a frame. The payload must not exceed kMaxPayload.
std::string encode(const Frame& f);
/// Appends an encoded frame to `out` (avoids a copy on hot paths).
void encode_into(std::string& out, uint32_t channel, FrameType type,
                 std::string_view payload);

/// Incremental decoder with a bounded buffer. Feed bytes, pull frames.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_payload = kMaxPayload)
      : max_payload_(max_payload) {}

  void feed(std::string_view bytes) { buf_.append(bytes); }
  /// Next complete frame, nullopt if more bytes are needed, or an error for
  /// an oversized length or unknown type. After an error the decoder stays
  /// failed until resync() or reset().
  Result<std::optional<Frame>> next();
  /// Discards bytes until a HELLO-type frame of `type` whose payload starts
  /// with the magic (and `nonce`, when given) begins the buffer. Returns true
  /// once aligned; false means more bytes are needed. Bytes that can never
  /// start such a frame are dropped, so memory stays bounded.
  bool resync(FrameType type, std::string_view nonce = {});
  void reset() {
    buf_.clear();
    failed_ = false;
  }
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
  uint32_t max_payload_;
  bool failed_ = false;
};

/// HELLO / HELLO_ACK payload: magic + nonce + JSON text.
std::string hello_payload(std::string_view nonce, std::string_view json);
struct HelloBody {
  std::string nonce;
  std::string json;
};
Result<HelloBody> parse_hello(std::string_view payload);

/// u32 little-endian helpers for WINDOW frames.
std::string encode_u32(uint32_t v);
Result<uint32_t> decode_u32(std::string_view p);
/// DATAGRAM payload: u32 tag (the sender's, echoed in the reply) + body.
std::string encode_datagram(uint32_t tag, std::string_view body);
struct Datagram {
  uint32_t tag = 0;
  std::string body;
};
/// Refuses payloads shorter than the tag or with a body over kMaxDatagram.
Result<Datagram> decode_datagram(std::string_view p);
/// RESIZE payload.
std::string encode_resize(uint16_t rows, uint16_t cols);
Result<std::pair<uint16_t, uint16_t>> decode_resize(std::string_view p);

}  // namespace sbx::proto
