// One worker thread per model. It owns the backend (and so the oneDNN stream and the OpenMP team
// it spawns), which keeps libuv's pool free and stops concurrent requests from oversubscribing the
// cores. Queued requests are merged into one batch up to `max_batch` images.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "profile.h"

namespace mobilenet {

enum class Output { Probabilities, Logits, Embedding };

// What the executor needs from a backend. Called only from the executor thread.
class Runner {
 public:
  virtual ~Runner() = default;
  virtual void bind_thread(int threads) = 0;  // called once on the executor thread
  virtual int image_size() const = 0;         // floats per input image
  virtual int output_width(Output output) const = 0;
  // Runs `batch` images; afterwards result(o) points at batch rows of output_width(o) floats.
  virtual void forward(const float* input, int batch, bool softmax) = 0;
  virtual const float* result(Output output) const = 0;

  // Rows of one forward pass that lie in different callers' buffers.
  struct Rows {
    const float* data;
    int count;
  };
  // Like forward(), with the pass's input given as consecutive parts; rows after the parts (up to
  // `batch`) are padding whose results are ignored. Default: copy the parts into one buffer.
  virtual void forward_parts(const std::vector<Rows>& parts, int batch, bool softmax);
  // Times every step of the batch-`batch` pass alone, `runs` times. Default: not supported (throws).
  virtual Profile profile(int batch, int runs);

 protected:
  std::vector<float> staging_;
  std::vector<size_t> staging_offsets_;  // where each part starts in staging_ (kept: no allocation per pass)
};

struct Job {
  const float* input;  // batch × image_size floats, borrowed until `done`
  int batch;
  Output output;
  float* dst;  // batch × output_width floats, borrowed until `done`
  std::function<void(const std::string& error)> done;  // empty error = success; called on the executor thread
  // When set, the job is not an inference: the executor runs task(runner) alone, between batches
  // (e.g. profiling), so it never overlaps inference on the runner; input/batch/dst are unused.
  std::function<void(Runner&)> task = nullptr;
};

// One forward pass of a merged batch: rows [row, row + size) of the staged input (the last pass may
// extend past the real rows, which are then zero padding).
struct Chunk {
  int row, size;
};
// Splits `total` queued images into passes of a few cached batch sizes; exposed for tests.
std::vector<Chunk> plan_chunks(int total, int max_batch);

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

  std::unique_ptr<Runner> runner_;
  ExecutorOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  int holds_ = 0;
  Stats stats_;
  std::thread thread_;
};

}  // namespace mobilenet
