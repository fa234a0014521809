// The link handshake's resynchronisation, as both ends run it over hostile
// or stale bytes: the daemon (AgentLink::connect) feeds what it reads and
// calls resync(HELLO_ACK, its nonce) until a frame lines up, takes it with
// next() and parse_hello, then its reader decodes the rest with the same
// decoder. The agent (first input bit set) does the same with resync(HELLO)
// and no nonce. Input: [flags: bit 7 agent mode, bits 0-5 chunk size] bytes...
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "proto/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::proto;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  const bool agent = (static_cast<uint8_t>(in[0]) & 0x80) != 0;
  const size_t chunk = (static_cast<uint8_t>(in[0]) & 0x3f) + 1;
  in.remove_prefix(1);
  // The seeds carry this nonce; the daemon's is random.
  const std::string_view nonce = agent ? std::string_view() : std::string_view("fuzz-nonce-01234");
  const FrameType want = agent ? FrameType::kHello : FrameType::kHelloAck;
  const size_t unsynced_max = kHeaderSize + kHelloMagic.size() + kNonceSize;

  FrameDecoder dec;  // default limit, as AgentLink's
  size_t pos = 0;
  bool synced = false;
  while (pos < in.size() && !synced) {
    std::string_view piece = in.substr(pos, chunk);
    pos += piece.size();
    dec.feed(piece);
    if (!dec.resync(want, nonce)) {
      // Dropped noise never piles up while the handshake waits.
      FUZZ_CHECK(dec.buffered() < unsynced_max);
      continue;
    }
    auto f = dec.next();
    // resync() checked the length and the type: next() cannot refuse it.
    FUZZ_CHECK(f.ok());
    if (!f->has_value()) {
      FUZZ_CHECK(dec.buffered() < kHeaderSize + kMaxPayload);
      continue;  // the rest of the frame is on its way
    }
    const Frame& fr = **f;
    FUZZ_CHECK(fr.type == want && fr.channel == kHelloChannel);
    auto h = parse_hello(fr.payload);
    FUZZ_CHECK(h.ok());
    FUZZ_CHECK(h->nonce.size() == kNonceSize);
    if (!nonce.empty()) FUZZ_CHECK(h->nonce == nonce);
    synced = true;
  }
  if (!synced) return 0;
  // The reader takes over the decoder with whatever followed the HELLO.
  dec.feed(in.substr(pos));
  for (int guard = 0; guard < 100000; ++guard) {
    auto f = dec.next();
    if (!f.ok() || !f->has_value()) break;  // a broken link ends the reader
    FUZZ_CHECK((*f)->payload.size() <= kMaxPayload);
  }
  return 0;
}
