#include "cli/exec_session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <thread>

#include "base/files.h"
#include "base/strings.h"
#include "client/api_client.h"
#include "client/fake_daemon.h"
#include "proto/messages.h"

namespace sbx::cli {
namespace {

using proto::FrameType;
using client::testing::exec_frame;
using client::testing::read_frame;

std::string exit_frame(int code) {
  proto::ExitInfo e;
  e.exit_code = code;
  return exec_frame(FrameType::kExit, proto::to_json(e));
}

// Reads everything from a pipe until EOF (the write end must be closed).
std::string drain(int fd) {
  std::string out;
  for (;;) {
    auto c = read_some(fd, 65536);
    if (!c || c->empty()) return out;
    out += *c;
  }
}

struct Pipes {
  std::pair<Fd, Fd> in, out, err;
  static Pipes make() {
    return Pipes{make_pipe().value(), make_pipe().value(), make_pipe().value()};
  }
  ExecIo io() const { return ExecIo{in.first.get(), out.second.get(), err.second.get()}; }
};

TEST(ExecSession, StdinBecomesDataAndOutputIsDemultiplexed) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  auto p = Pipes::make();
  ASSERT_TRUE(write_all(p.in.second.get(), "hello"));
  p.in.second.reset();  // stdin EOF after "hello"

  std::string got_stdin;
  bool got_eof = false;
  std::thread daemon([&, fd = sp->second.get()] {
    proto::FrameDecoder dec;
    while (auto f = read_frame(fd, dec)) {
      if (f->type == FrameType::kData) got_stdin += f->payload;
      if (f->type == FrameType::kEof) {
        got_eof = true;
        break;
      }
    }
    (void)write_all(fd, exec_frame(FrameType::kData, "out:" + got_stdin) +
                            exec_frame(FrameType::kDataErr, "err!") + exit_frame(3));
  });
  ExecSessionOptions o;
  o.forward_stdin = true;
  ExecSession s(client::ExecStream{std::move(sp->first), ""}, p.io(), o);
  auto code = s.run();
  daemon.join();
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(*code, 3);
  EXPECT_EQ(got_stdin, "hello");
  EXPECT_TRUE(got_eof);
  p.out.second.reset();
  p.err.second.reset();
  EXPECT_EQ(drain(p.out.first.get()), "out:hello");
  EXPECT_EQ(drain(p.err.first.get()), "err!");
}

TEST(ExecSession, WithoutInteractiveSendsEofAndDoesNotReadStdin) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  auto p = Pipes::make();
  ASSERT_TRUE(write_all(p.in.second.get(), "must stay unread"));
  FrameType first = FrameType::kData;
  std::thread daemon([&, fd = sp->second.get()] {
    proto::FrameDecoder dec;
    if (auto f = read_frame(fd, dec)) first = f->type;
    (void)write_all(fd, exit_frame(0));
  });
  ExecSession s(client::ExecStream{std::move(sp->first), ""}, p.io(), ExecSessionOptions{});
  auto code = s.run();
  daemon.join();
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(first, FrameType::kEof);
  EXPECT_EQ(s.stdin_bytes_sent(), 0u);
  p.in.second.reset();
  EXPECT_EQ(drain(p.in.first.get()), "must stay unread");
}

TEST(ExecSession, PendingBytesFromTheUpgradeAreUsed) {
  // The whole conversation arrived with the 101: EXIT is already pending.
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  auto p = Pipes::make();
  ExecSession s(client::ExecStream{std::move(sp->first),
                           exec_frame(FrameType::kData, "early") + exit_frame(42)},
                p.io(), ExecSessionOptions{});
  auto code = s.run();
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(*code, 42);
  p.out.second.reset();
  EXPECT_EQ(drain(p.out.first.get()), "early");
}

TEST(ExecSession, StdinNeverExceedsTheCreditWindow) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  auto p = Pipes::make();
  const size_t total = 3 * proto::kInitialWindow;
  std::thread writer([&] {
    std::string chunk(64 << 10, 'x');
    for (size_t sent = 0; sent < total; sent += chunk.size())
      if (!write_all(p.in.second.get(), chunk)) break;
    p.in.second.reset();
  });

  uint64_t received = 0, granted = proto::kInitialWindow, max_excess = 0;
  uint64_t at_stall = 0, after_wait = 0;
  std::thread daemon([&, fd = sp->second.get()] {
    proto::FrameDecoder dec;
    bool stalled_once = false;
    while (auto f = read_frame(fd, dec)) {
      if (f->type == FrameType::kData) {
        received += f->payload.size();
        if (received > granted) max_excess = std::max(max_excess, received - granted);
        if (received == granted && !stalled_once) {
          // Give the client time to misbehave before granting more.
          stalled_once = true;
          at_stall = received;
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          // Nothing more may have been sent: check without blocking.
          (void)set_nonblocking(fd, true);
          auto extra = read_some(fd, 1);
          after_wait = (extra && !extra->empty()) ? 1 : 0;
          if (extra) dec.feed(*extra);
          (void)set_nonblocking(fd, false);
          granted += 4 * proto::kInitialWindow;
          (void)write_all(fd, exec_frame(FrameType::kWindow,
                                         proto::encode_u32(4 * proto::kInitialWindow)));
        }
      }
      if (f->type == FrameType::kEof) break;
    }
    (void)write_all(fd, exit_frame(0));
  });
  ExecSessionOptions o;
  o.forward_stdin = true;
  ExecSession s(client::ExecStream{std::move(sp->first), ""}, p.io(), o);
  auto code = s.run();
  writer.join();
  daemon.join();
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(received, total);
  EXPECT_EQ(max_excess, 0u);
  EXPECT_EQ(at_stall, proto::kInitialWindow);
  EXPECT_EQ(after_wait, 0u) << "client sent stdin without credit";
}

TEST(ExecSession, OutputIsCreditedBackAfterWriting) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  auto p = Pipes::make();
  const size_t total = 300 << 10;
  uint64_t credited = 0;
  std::thread daemon([&, fd = sp->second.get()] {
    std::string chunk(proto::kDataChunk, 'o');
    std::string all;
    for (size_t sent = 0; sent < total; sent += chunk.size())
      all += exec_frame(FrameType::kData, chunk.substr(0, std::min(chunk.size(), total - sent)));
    (void)write_all(fd, all);
    proto::FrameDecoder dec;
    while (credited < total) {
      auto f = read_frame(fd, dec);
      if (!f) break;
      if (f->type == FrameType::kWindow) credited += *proto::decode_u32(f->payload);
    }
    (void)write_all(fd, exit_frame(0));
  });
  std::string out;
  std::thread reader([&] { out = drain(p.out.first.get()); });
  {
    ExecSession s(client::ExecStream{std::move(sp->first), ""}, p.io(), ExecSessionOptions{});
    auto code = s.run();
    ASSERT_TRUE(code) << code.error().message;
    EXPECT_EQ(*code, 0);
  }
  daemon.join();
  p.out.second.reset();
  reader.join();
  EXPECT_EQ(out.size(), total);
  EXPECT_EQ(credited, total);
}

TEST(ExecSession, ClosedStdoutForwardsSigpipe) {
  ::signal(SIGPIPE, SIG_IGN);  // as sbx's main() does
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  auto p = Pipes::make();
  p.out.first.reset();  // nobody reads our stdout any more
  int forwarded = 0;
  std::thread daemon([&, fd = sp->second.get()] {
    (void)write_all(fd, exec_frame(FrameType::kData, "lost"));
    proto::FrameDecoder dec;
    while (auto f = read_frame(fd, dec)) {
      if (f->type == FrameType::kSignal && f->payload.size() == 1) {
        forwarded = f->payload[0];
        break;
      }
    }
    (void)write_all(fd, exit_frame(141));
  });
  ExecSession s(client::ExecStream{std::move(sp->first), ""}, p.io(), ExecSessionOptions{});
  auto code = s.run();
  daemon.join();
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(*code, 141);
  EXPECT_EQ(forwarded, SIGPIPE);
}

TEST(ExecSession, ConnectionLostBeforeExitIsAnError) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  auto p = Pipes::make();
  ASSERT_TRUE(write_all(sp->second.get(), exec_frame(FrameType::kData, "partial")));
  sp->second.reset();
  ExecSession s(client::ExecStream{std::move(sp->first), ""}, p.io(), ExecSessionOptions{});
  auto code = s.run();
  ASSERT_FALSE(code);
  EXPECT_NE(code.error().message.find("lost before the command exited"), std::string::npos);
}

TEST(ExecSession, GarbageFromTheDaemonIsAnError) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp);
  auto p = Pipes::make();
  std::string bad;
  proto::encode_into(bad, 7, FrameType::kData, "wrong channel");
  ASSERT_TRUE(write_all(sp->second.get(), bad));
  ExecSession s(client::ExecStream{std::move(sp->first), ""}, p.io(), ExecSessionOptions{});
  auto code = s.run();
  ASSERT_FALSE(code);
  EXPECT_NE(code.error().message.find("unexpected channel 7"), std::string::npos);
}

TEST(ExecOverApiClient, UpgradeKeepsBytesRightAfterThe101) {
  // The 101 headers, stdout and EXIT arrive in one write: the frames sit in
  // the HTTP reader's buffer and must reach the session.
  std::string stdin_seen;
  auto dir = TempDir::create("cli-exec");
  ASSERT_TRUE(dir);
  std::string socket = dir->path() + "/sandboxd.sock";
  auto fake = client::testing::FakeDaemon::start(socket, [&](const client::testing::FakeRequest& r, int fd) {
    EXPECT_EQ(r.headers.at("upgrade"), "sbx-exec/1");
    EXPECT_NE(to_lower(r.headers.at("connection")).find("upgrade"), std::string::npos);
    auto req = proto::parse_exec_request(r.body);
    ASSERT_TRUE(req);
    EXPECT_EQ(req->argv, (std::vector<std::string>{"cat"}));
    client::testing::respond_upgrade(fd, exec_frame(FrameType::kData, "first bytes|"));
    proto::FrameDecoder dec;
    while (auto f = read_frame(fd, dec)) {
      if (f->type == FrameType::kData) stdin_seen += f->payload;
      if (f->type == FrameType::kEof) break;
    }
    proto::ExitInfo e;
    e.exit_code = 5;
    (void)write_all(fd, exec_frame(FrameType::kData, stdin_seen) +
                            exec_frame(FrameType::kExit, proto::to_json(e)));
  });
  ASSERT_TRUE(fake) << fake.error().message;
  client::ApiClient c(socket);
  proto::ExecRequest req;
  req.argv = {"cat"};
  auto s = c.exec("box", req);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(s->fd.valid());
  EXPECT_FALSE(s->pending.empty());

  auto in = make_pipe();
  auto out = make_pipe();
  auto errp = make_pipe();
  ASSERT_TRUE(write_all(in->second.get(), "typed"));
  in->second.reset();
  ExecSessionOptions o;
  o.forward_stdin = true;
  ExecSession session(std::move(*s), ExecIo{in->first.get(), out->second.get(), errp->second.get()}, o);
  auto code = session.run();
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(*code, 5);
  out->second.reset();
  std::string got;
  while (auto chunk = read_some(out->first.get(), 4096)) {
    if (chunk->empty()) break;
    got += *chunk;
  }
  EXPECT_EQ(got, "first bytes|typed");
  EXPECT_EQ(stdin_seen, "typed");
}

}  // namespace
}  // namespace sbx::cli
