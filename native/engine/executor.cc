#include "executor.h"

#include <chrono>
#include <cstring>
#include <exception>

namespace mobilenet {

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
  std::vector<float> staging;
  std::vector<Job> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      if (options_.max_wait_us > 0 && queue_.front().batch < options_.max_batch && !stopping_) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(options_.max_wait_us);
        cv_.wait_until(lock, deadline, [this] {
          int n = 0;
          for (const auto& j : queue_) n += j.batch;
          return stopping_ || n >= options_.max_batch;
        });
      }
      // Take whole jobs in arrival order while they fit; a job larger than max_batch runs alone.
      int images = 0;
      while (!queue_.empty() && (batch.empty() || images + queue_.front().batch <= options_.max_batch)) {
        images += queue_.front().batch;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }

    int total = 0;
    bool softmax = false;
    for (const auto& j : batch) {
      total += j.batch;
      softmax = softmax || j.output == Output::Probabilities;
    }
    std::string error;
    try {
      const float* input = batch[0].input;
      if (batch.size() > 1) {
        staging.resize(size_t(total) * image);
        size_t at = 0;
        for (const auto& j : batch) {
          std::memcpy(staging.data() + at, j.input, size_t(j.batch) * image * sizeof(float));
          at += size_t(j.batch) * image;
        }
        input = staging.data();
      }
      runner_->forward(input, total, softmax);
      int row = 0;
      for (const auto& j : batch) {
        const int width = runner_->output_width(j.output);
        std::memcpy(j.dst, runner_->result(j.output) + size_t(row) * width, size_t(j.batch) * width * sizeof(float));
        row += j.batch;
      }
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "native engine failure";
    } catch (...) {
      error = "unknown native engine failure";
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.batches += 1;
      stats_.images += total;
      stats_.jobs += batch.size();
    }
    for (auto& j : batch) j.done(error);
  }
  // Free the engine's memory on the thread that used it, as soon as the model is disposed.
  runner_.reset();
}

}  // namespace mobilenet
