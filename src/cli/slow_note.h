// A note printed when a call to the daemon takes long (a first create builds
// the template, which takes minutes), so the user knows why sbx waits.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

namespace sbx::cli {

/// Prints a note on stderr if an operation takes longer than `delay`
/// (a first create builds the template, which takes minutes).
class SlowNote {
 public:
  SlowNote(std::ostream& err, std::string note, std::chrono::milliseconds delay)
      : thread_([this, &err, note = std::move(note), delay] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_for(lock, delay, [this] { return done_; })) {
            err << note << "\n";
            err.flush();
          }
        }) {}
  SlowNote(const SlowNote&) = delete;
  SlowNote& operator=(const SlowNote&) = delete;
  ~SlowNote() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace sbx::cli
