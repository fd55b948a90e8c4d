// One worker thread per model, and the one owner of micro-batching: it merges queued requests into
// forward passes of a few cached batch sizes, pads the last pass, and splits the results back. It
// owns the runner (and so the oneDNN stream and the OpenMP team it spawns), which keeps libuv's pool
// free and stops concurrent requests from oversubscribing the cores.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "profile.h"

namespace mobilenet {

enum class Output { Probabilities, Logits, Embedding };

// Consecutive images of one forward pass that sit in one buffer.
struct Rows {
  const float* data;
  int count;
};

// What the executor needs from a backend: stateless as an interface; called only from the executor thread.
class Runner {
 public:
  virtual ~Runner() = default;
  virtual void bind_thread(int threads) = 0;  // called once on the executor thread
  virtual int image_size() const = 0;         // floats per input image
  virtual int output_width(Output output) const = 0;
  // Runs `batch` images; afterwards result(o) points at batch rows of output_width(o) floats.
  virtual void forward(const float* input, int batch, bool softmax) = 0;
  virtual const float* result(Output output) const = 0;
  // Whether forward_rows() reads a batch-`batch` pass from separate buffers; if not, the executor
  // gathers them into one buffer for forward().
  virtual bool reads_rows(int /*batch*/) { return false; }
  // Like forward(), the pass given as consecutive Rows whose counts sum to its batch size.
  virtual void forward_rows(const std::vector<Rows>& rows, bool softmax);
  // Times every step of the batch-`batch` pass alone, `runs` times. Default: not supported (throws).
  virtual Profile profile(int batch, int runs);
};

// Images to classify: `batch` rows of `input` in, rows of `output` into `dst` (both borrowed until done).
struct Inference {
  const float* input;  // batch × image_size floats
  int batch;
  Output output;
  float* dst;  // batch × output_width floats
};
// Work that is not an inference (e.g. profiling): run alone on the runner, between passes.
using Task = std::function<void(Runner&)>;

struct Job {
  std::variant<Inference, Task> work;
  std::function<void(const std::string& error)> done;  // empty error = success; called on the executor thread
};

// One forward pass of a merged batch: rows [row, row + size) of the queued images (the last pass
// may extend past them: zero padding).
struct Pass {
  int row, size;
};
// Splits `total` queued images into passes of a few cached batch sizes; exposed for tests.
std::vector<Pass> plan_passes(int total, int max_batch);

struct ExecutorOptions {
  int threads = 0;     // 0 = the OpenMP default
  int max_batch = 32;  // images merged into one forward pass
  int max_wait_us = 0; // how long a lone request waits for company; 0 keeps batch-1 latency unchanged
};

class Executor {
 public:
  Executor(std::unique_ptr<Runner> runner, ExecutorOptions options);
  ~Executor();  // stops and joins
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Thread-safe. Returns false (and does not call done) when the executor is stopping.
  bool submit(Job job);
  // While held (counted), queued jobs wait: the JavaScript side holds the executor for the rest of a
  // synchronous run of submissions, so that calls made together reach it together and merge into
  // one batch, instead of the first one starting alone as soon as it lands.
  void hold();
  void release();
  // Finish queued jobs, free the runner on the worker thread, then exit. Returns at once.
  void request_stop();
  // Drop queued jobs (their done() gets `error`), finish the running batch, join.
  void abort_and_join(const std::string& error);
  void join();
  size_t queue_depth() const;

  struct Stats {
    uint64_t batches = 0, images = 0, jobs = 0;  // batches: forward passes
  };
  Stats stats() const;

 private:
  void loop();
  // Waits for work; returns the next task alone, or inferences merged in arrival order (empty: stop).
  std::vector<Job> take();
  void run_task(Job& job);
  void run_inferences(std::vector<Job>& jobs);
  void run_pass(const std::vector<Job>& jobs, const Pass& pass, int total, bool softmax);
  const float* gather(const std::vector<Rows>& rows, size_t image);

  std::unique_ptr<Runner> runner_;
  ExecutorOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  int holds_ = 0;
  Stats stats_;
  // Executor thread only: a pass's rows gathered into one buffer, and zero rows for padding.
  std::vector<float> staging_, zeros_;
  std::thread thread_;
};

}  // namespace mobilenet
