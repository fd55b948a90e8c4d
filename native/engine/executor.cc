#include "executor.h"

#include <chrono>
#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace mobilenet {

std::vector<Chunk> plan_chunks(int total, int max_batch) {
  // Forward passes only ever use "bucket" sizes (powers of two up to max_batch, and max_batch), so
  // whatever sizes the queue merges into, the backend meets a handful of batch sizes whose primitives
  // it has already built: building them costs far more than a pass. A remainder is padded up to the
  // next bucket when that wastes at most a quarter of it, and otherwise split.
  std::vector<Chunk> chunks;
  auto bucket_at_most = [&](int n) {
    if (n >= max_batch) return max_batch;
    int b = 1;
    while (b * 2 <= n) b *= 2;
    return b;
  };
  int row = 0;
  while (row < total) {
    const int left = total - row;
    int size = bucket_at_most(left);
    if (size < left) {
      int up = std::min(size * 2, max_batch);
      if (up - left <= up / 4) size = up;
    }
    chunks.push_back({row, size});
    row += size;
  }
  return chunks;
}

void Runner::forward_parts(const std::vector<Rows>& parts, int batch, bool softmax) {
  const size_t image = image_size();
  if (parts.size() == 1 && parts[0].count == batch) return forward(parts[0].data, batch, softmax);
  staging_.resize(size_t(batch) * image);
  std::vector<size_t>& offsets = staging_offsets_;
  offsets.assign(parts.size() + 1, 0);
  for (size_t i = 0; i < parts.size(); ++i) offsets[i + 1] = offsets[i] + size_t(parts[i].count) * image;
  // On the engine's threads: one thread copying 32 images (6 MB at 224²) took ~10 % of an α=0.25
  // batch-32 pass while the others waited.
  const long n = long(parts.size());
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) std::memcpy(staging_.data() + offsets[i], parts[i].data, (offsets[i + 1] - offsets[i]) * sizeof(float));
  std::fill(staging_.begin() + offsets.back(), staging_.begin() + size_t(batch) * image, 0.f);
  forward(staging_.data(), batch, softmax);
}

Profile Runner::profile(int, int) { throw std::runtime_error("this engine cannot be profiled"); }

Executor::Executor(std::unique_ptr<Runner> runner, ExecutorOptions options)
    : runner_(std::move(runner)), options_(options) {
  if (options_.max_batch < 1) options_.max_batch = 1;
  thread_ = std::thread([this] { loop(); });
}

Executor::~Executor() { abort_and_join("model destroyed"); }

bool Executor::submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void Executor::hold() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++holds_;
}

void Executor::release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (holds_ > 0) --holds_;
  }
  cv_.notify_one();
}

void Executor::request_stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
}

void Executor::abort_and_join(const std::string& error) {
  std::deque<Job> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_one();
  for (auto& job : dropped) job.done(error);
  join();
}

void Executor::join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

size_t Executor::queue_depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

Executor::Stats Executor::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Executor::loop() {
  runner_->bind_thread(options_.threads);
  const size_t image = runner_->image_size();
  std::vector<Job> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || (!queue_.empty() && holds_ == 0); });
      if (queue_.empty()) break;  // stopping and drained
      if (queue_.front().task) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      } else if (options_.max_wait_us > 0 && queue_.front().batch < options_.max_batch && !stopping_) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(options_.max_wait_us);
        cv_.wait_until(lock, deadline, [this] {
          int n = 0;
          for (const auto& j : queue_) n += j.batch;
          return stopping_ || n >= options_.max_batch;
        });
      }
      // Take whole jobs in arrival order while they fit; a job larger than max_batch runs alone.
      int images = 0;
      while (!queue_.empty() && !queue_.front().task && (batch.empty() || (!batch[0].task && images + queue_.front().batch <= options_.max_batch))) {
        images += queue_.front().batch;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }

    if (batch[0].task) {
      std::string error;
      try {
        batch[0].task(*runner_);
      } catch (const std::exception& e) {
        error = e.what();
        if (error.empty()) error = "native engine failure";
      } catch (...) {
        error = "unknown native engine failure";
      }
      batch[0].done(error);
      continue;
    }
    int total = 0;
    bool softmax = false;
    for (const auto& j : batch) {
      total += j.batch;
      softmax = softmax || j.output == Output::Probabilities;
    }
    std::string error;
    int passes = 0;
    try {
      const std::vector<Chunk> chunks = plan_chunks(total, options_.max_batch);
      // Per pass, each caller's share: `count` rows from row `from` of its own buffers, at row `at` of the pass.
      struct Share {
        const Job* job;
        int from, at, count;
      };
      std::vector<Share> shares;
      std::vector<Runner::Rows> parts;
      for (const Chunk& c : chunks) {
        shares.clear();
        parts.clear();
        int first = 0;
        for (const auto& j : batch) {
          const int lo = std::max(first, c.row), hi = std::min(first + j.batch, std::min(c.row + c.size, total));
          if (lo < hi) {
            shares.push_back({&j, lo - first, lo - c.row, hi - lo});
            // The callers' rows of this pass, read where they are: no staging copy of the merged batch.
            parts.push_back({j.input + size_t(lo - first) * image, hi - lo});
          }
          first += j.batch;
        }
        runner_->forward_parts(parts, c.size, softmax);
        ++passes;
        for (const Share& s : shares) {  // hand each caller the rows of this pass that are theirs
          const int width = runner_->output_width(s.job->output);
          std::memcpy(s.job->dst + size_t(s.from) * width, runner_->result(s.job->output) + size_t(s.at) * width,
                      size_t(s.count) * width * sizeof(float));
        }
      }
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "native engine failure";
    } catch (...) {
      error = "unknown native engine failure";
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.batches += passes;
      stats_.images += total;
      stats_.jobs += batch.size();
    }
    for (auto& j : batch) j.done(error);
  }
  // Free the engine's memory on the thread that used it, as soon as the model is disposed.
  runner_.reset();
}

}  // namespace mobilenet
