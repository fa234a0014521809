#include "daemon/resource_sampler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/files.h"

namespace sbx::daemon {
namespace {

namespace fs = std::filesystem;

/// A fake /proc with one process whose times the test sets.
class FakeProc {
 public:
  FakeProc() : root_(fs::temp_directory_path() / ("sbx-proc-" + std::to_string(getpid()))) {
    fs::create_directories(root_ / "42");
    std::ofstream(root_ / "uptime") << "1000.00 1500.00\n";
  }
  ~FakeProc() { fs::remove_all(root_); }
  /// Writes /proc/42/stat with these user/system ticks, start tick and pages.
  void set(uint64_t utime, uint64_t stime, uint64_t start, uint64_t rss_pages) {
    std::ofstream f(root_ / "42" / "stat");
    // The name holds ") (" to check that parsing starts at the last ')'.
    f << "42 (qemu) (x y) S 1 42 42 0 -1 4194560 100 0 0 0 " << utime << " " << stime
      << " 0 0 20 0 3 0 " << start << " 123456789 " << rss_pages << " 18446744073709551615\n";
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

TEST(ResourceSampler, FirstSampleAveragesOverTheProcessLifeThenRatesBetweenSamples) {
  FakeProc proc;
  ResourceSampler s(proc.root());
  long hz = sysconf(_SC_CLK_TCK);
  // Started at 900 s of uptime (100 s ago), used 50 s of CPU: 50%.
  proc.set(30 * hz, 20 * hz, 900 * hz, 1000);
  auto t0 = std::chrono::steady_clock::now();
  auto a = s.sample(42, t0);
  EXPECT_NEAR(a.cpu_percent, 50.0, 0.5);
  EXPECT_EQ(a.rss_bytes, 1000u * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  // Two more CPU seconds in the next second: 200% (two cores busy).
  proc.set(31 * hz, 21 * hz, 900 * hz, 1000);
  auto b = s.sample(42, t0 + std::chrono::seconds(1));
  EXPECT_NEAR(b.cpu_percent, 200.0, 0.5);
  // Asked again at once: the last rate stands rather than noise.
  auto c = s.sample(42, t0 + std::chrono::seconds(1) + std::chrono::milliseconds(10));
  EXPECT_NEAR(c.cpu_percent, 200.0, 0.5);
}

TEST(ResourceSampler, AReusedPidStartsOverAndAMissingOneIsUnknown) {
  FakeProc proc;
  ResourceSampler s(proc.root());
  long hz = sysconf(_SC_CLK_TCK);
  proc.set(10 * hz, 0, 900 * hz, 1);
  auto t0 = std::chrono::steady_clock::now();
  s.sample(42, t0);
  // Another process with the same pid, started 10 s ago with 1 s of CPU.
  proc.set(1 * hz, 0, 990 * hz, 1);
  EXPECT_NEAR(s.sample(42, t0 + std::chrono::seconds(5)).cpu_percent, 10.0, 0.5);
  EXPECT_EQ(s.sample(7, t0).cpu_percent, -1);
  EXPECT_EQ(s.sample(0, t0).rss_bytes, 0u);
}

}  // namespace
}  // namespace sbx::daemon
