// Test helper shared by the agent's unit tests: what a LinkOutput queued,
// flushed through a socketpair and decoded back into frames.
#pragma once

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "agent/link_output.h"
#include "base/fd.h"
#include "proto/frame.h"

namespace sbx::agent::testing {

/// Flushes `out` and returns the frames it held, in order.
inline std::vector<proto::Frame> frames_of(LinkOutput& out) {
  auto sp = socket_pair();
  EXPECT_TRUE(sp);
  EXPECT_TRUE(out.flush(sp->first.get()));
  sp->first.reset();
  proto::FrameDecoder dec;
  for (;;) {
    auto b = read_some(sp->second.get(), 1 << 20);
    if (!b || b->empty()) break;
    dec.feed(*b);
  }
  std::vector<proto::Frame> v;
  for (;;) {
    auto f = dec.next();
    if (!f || !f->has_value()) break;
    v.push_back(std::move(**f));
  }
  return v;
}

}  // namespace sbx::agent::testing
