// proto::FrameDecoder: arbitrary bytes, fed in arbitrary chunks, with
// resynchronisation after errors, must never crash or grow without bound.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "proto/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::proto;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  // First byte picks the chunk size, so splits across reads get explored.
  size_t chunk = static_cast<uint8_t>(in[0]) % 64 + 1;
  in.remove_prefix(1);
  FrameDecoder dec(4096);
  bool resyncing = false;
  for (size_t pos = 0; pos < in.size(); pos += chunk) {
    dec.feed(in.substr(pos, chunk));
    for (int guard = 0; guard < 10000; ++guard) {
      if (resyncing) {
        if (!dec.resync(FrameType::kHelloAck)) break;
        resyncing = false;
      }
      auto f = dec.next();
      if (!f.ok()) {
        resyncing = true;
        continue;
      }
      if (!f->has_value()) break;
      const Frame& fr = **f;
      FUZZ_CHECK(fr.payload.size() <= 4096);
      // Payload decoders see hostile payloads too.
      (void)parse_hello(fr.payload);
      (void)decode_u32(fr.payload);
      (void)decode_resize(fr.payload);
      // A decoded frame re-encodes to the same header fields.
      auto again = encode(fr);
      FUZZ_CHECK(again.size() == kHeaderSize + fr.payload.size());
    }
    // Bounded: never more than one max frame plus one chunk buffered.
    FUZZ_CHECK(dec.buffered() <= 4096 + kHeaderSize + chunk + kHelloMagic.size() + 64);
  }
  return 0;
}
