// A Runner without oneDNN for the executor's tests: each image is two floats {id, 0.5}, and every
// output row is a known function of the id, so a caller can tell whether it got exactly its rows.
// It records every pass and can hold a pass open (Gate) or throw on a marked row.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "engine/executor.h"

namespace fake {

using mobilenet::Output;
constexpr int kImage = 2;               // floats per image
constexpr float kThrowStd = -1.f;       // a row with this id makes forward() throw std::runtime_error
constexpr float kThrowOther = -2.f;     // … or throw an int
constexpr auto kPatience = std::chrono::seconds(20);  // how long a test waits for the executor thread

inline int width(Output o) { return o == Output::Probabilities ? 3 : o == Output::Logits ? 2 : 1; }
// Output row of an image: Probabilities {id, softmax, 7}, Logits {2·id, −id}, Embedding {id + ¼}.
inline std::vector<float> expected_row(Output o, float id, bool softmax) {
  if (o == Output::Probabilities) return {id, softmax ? 1.f : 0.f, 7.f};
  if (o == Output::Logits) return {2 * id, -id};
  return {id + 0.25f};
}

// What the runner saw, shared with the test (the executor owns and frees the runner).
struct Log {
  struct Pass {
    std::vector<float> ids;  // first float of each row, padding included
    bool softmax;
  };
  std::mutex mutex;
  std::vector<Pass> passes;
  std::vector<std::string> events;  // "pass" or a task's name, in execution order
  std::thread::id executor_thread, destroyed_on;
  const void* runner = nullptr;
  bool destroyed = false;

  size_t pass_count() {
    std::lock_guard<std::mutex> lock(mutex);
    return passes.size();
  }
};

// Holds forward() until opened, so that a test can queue jobs behind a running pass.
class Gate {
 public:
  void close() { set(false); }
  void open() { set(true); }
  // Called by forward(): counts the entry, then waits while closed.
  void pass_through() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  bool wait_entered(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, kPatience, [&] { return entered_ >= n; });
  }

 private:
  void set(bool open) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = open;
    }
    cv_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = true;
  int entered_ = 0;
};

class Runner : public mobilenet::Runner {
 public:
  Runner(std::shared_ptr<Log> log, std::shared_ptr<Gate> gate) : log_(std::move(log)), gate_(std::move(gate)) {
    log_->runner = this;
  }
  ~Runner() override {
    std::lock_guard<std::mutex> lock(log_->mutex);
    log_->destroyed = true;
    log_->destroyed_on = std::this_thread::get_id();
  }
  void bind_thread(int) override {
    std::lock_guard<std::mutex> lock(log_->mutex);
    log_->executor_thread = std::this_thread::get_id();
  }
  int image_size() const override { return kImage; }
  int output_width(Output o) const override { return width(o); }
  void forward(const float* input, int batch, bool softmax) override {
    Log::Pass pass{{}, softmax};
    for (int r = 0; r < batch; ++r) pass.ids.push_back(input[size_t(r) * kImage]);
    {
      std::lock_guard<std::mutex> lock(log_->mutex);
      log_->passes.push_back(pass);
      log_->events.push_back("pass");
    }
    gate_->pass_through();
    for (float id : pass.ids) {
      if (id == kThrowStd) throw std::runtime_error("poisoned row");
      if (id == kThrowOther) throw 42;
    }
    for (Output o : {Output::Probabilities, Output::Logits, Output::Embedding}) {
      std::vector<float>& out = results_[int(o)];
      out.clear();
      for (float id : pass.ids)
        for (float v : expected_row(o, id, softmax)) out.push_back(v);
    }
  }
  const float* result(Output o) const override { return results_[int(o)].data(); }

 private:
  std::shared_ptr<Log> log_;
  std::shared_ptr<Gate> gate_;
  std::vector<float> results_[3];
};

// One caller: its input rows, an output buffer with a canary row on each side, and how it was answered.
struct Call {
  Call(int job, int batch, Output output, float poison = 0) : batch(batch), output(output) {
    for (int r = 0; r < batch; ++r) {
      ids.push_back(r == batch - 1 && poison != 0 ? poison : float(job * 1000 + r + 1));
      input.push_back(ids.back());
      input.push_back(0.5f);
    }
    dst.assign(size_t(batch + 2) * width(output), kCanary);
  }
  static constexpr float kCanary = -999.f;
  int batch;
  Output output;
  std::vector<float> ids, input, dst;
  int answers = 0;    // done() calls; guarded by Calls::mutex
  std::string error;  // the last one's
};

// Tracks done() for a set of calls; done() may run on the executor thread or the aborting one.
class Calls {
 public:
  Call& add(int batch, Output output, float poison = 0) {
    calls_.push_back(std::make_unique<Call>(int(calls_.size()) + 1, batch, output, poison));
    return *calls_.back();
  }
  // The one place that builds executor jobs: adapt it if Job's shape changes.
  mobilenet::Job job(Call& c) {
    mobilenet::Job j;
    j.work = mobilenet::Inference{c.input.data(), c.batch, c.output, c.dst.data() + width(c.output)};
    j.done = [this, &c](const std::string& error) { answer(c, error); };
    return j;
  }
  static mobilenet::Job task(std::function<void(mobilenet::Runner&)> fn, std::function<void(const std::string&)> done) {
    mobilenet::Job j;
    j.work = mobilenet::Task(std::move(fn));
    j.done = std::move(done);
    return j;
  }
  bool wait_answered(const std::vector<Call*>& which) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, kPatience, [&] {
      for (Call* c : which)
        if (c->answers == 0) return false;
      return true;
    });
  }
  bool wait_all() {
    std::vector<Call*> all;
    for (auto& c : calls_) all.push_back(c.get());
    return wait_answered(all);
  }
  int answers(const Call& c) {
    std::lock_guard<std::mutex> lock(mutex_);
    return c.answers;
  }
  std::string error(const Call& c) {
    std::lock_guard<std::mutex> lock(mutex_);
    return c.error;
  }
  const std::vector<std::unique_ptr<Call>>& all() const { return calls_; }

 private:
  void answer(Call& c, const std::string& error) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++c.answers;
      c.error = error;
    }
    cv_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Call>> calls_;
};

// Checks that `c` was answered once, without error, with exactly the rows of its own images (and
// probabilities from a pass run with softmax).
inline void check_rows(Calls& calls, const Call& c) {
  CHECK_EQ(calls.answers(c), 1);
  CHECK_EQ(calls.error(c), std::string());
  const int w = width(c.output);
  for (int i = 0; i < w; ++i) {
    CHECK_MSG(c.dst[i] == Call::kCanary, "row before the buffer was written");
    CHECK_MSG(c.dst[size_t(c.batch + 1) * w + i] == Call::kCanary, "row after the buffer was written");
  }
  for (int r = 0; r < c.batch; ++r) {
    const std::vector<float> want = expected_row(c.output, c.ids[r], true);
    for (int i = 0; i < w; ++i)
      CHECK_MSG(c.dst[size_t(r + 1) * w + i] == want[i],
                "row " << r << " of image " << c.ids[r] << " value " << i << ": got " << c.dst[size_t(r + 1) * w + i]
                       << ", expected " << want[i]);
  }
}

}  // namespace fake
