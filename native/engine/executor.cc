#include "executor.h"

#include <chrono>
#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <stdexcept>

namespace mobilenet {

std::vector<Pass> plan_passes(int total, int max_batch) {
  // Forward passes only ever use "bucket" sizes (powers of two up to max_batch, and max_batch), so
  // whatever sizes the queue merges into, the backend meets a handful of batch sizes whose primitives
  // it has already built: building them costs far more than a pass. A remainder is padded up to the
  // next bucket when that wastes at most a quarter of it, and otherwise split.
  std::vector<Pass> passes;
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
    passes.push_back({row, size});
    row += size;
  }
  return passes;
}

void Runner::forward_rows(const std::vector<Rows>&, bool) { throw std::logic_error("this runner reads one buffer per pass"); }

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
  for (std::vector<Job> jobs = take(); !jobs.empty(); jobs = take()) {
    if (std::holds_alternative<Task>(jobs[0].work)) run_task(jobs[0]);
    else run_inferences(jobs);
  }
  // Free the engine's memory on the thread that used it, as soon as the model is disposed.
  runner_.reset();
}

namespace {
int batch_of(const Job& job) { return std::get<Inference>(job.work).batch; }
bool is_task(const Job& job) { return std::holds_alternative<Task>(job.work); }

std::string error_of(const std::exception& e) {
  const std::string what = e.what();
  return what.empty() ? "native engine failure" : what;
}
}  // namespace

std::vector<Job> Executor::take() {
  std::vector<Job> jobs;
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return stopping_ || (!queue_.empty() && holds_ == 0); });
  if (queue_.empty()) return jobs;  // stopping and drained
  if (is_task(queue_.front())) {
    jobs.push_back(std::move(queue_.front()));
    queue_.pop_front();
    return jobs;
  }
  if (options_.max_wait_us > 0 && batch_of(queue_.front()) < options_.max_batch && !stopping_) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(options_.max_wait_us);
    cv_.wait_until(lock, deadline, [this] {
      int n = 0;
      for (const auto& j : queue_) n += is_task(j) ? 0 : batch_of(j);
      return stopping_ || n >= options_.max_batch;
    });
  }
  // Whole inferences in arrival order while they fit; one larger than max_batch runs alone.
  int images = 0;
  while (!queue_.empty() && !is_task(queue_.front()) &&
         (jobs.empty() || images + batch_of(queue_.front()) <= options_.max_batch)) {
    images += batch_of(queue_.front());
    jobs.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return jobs;
}

void Executor::run_task(Job& job) {
  std::string error;
  try {
    std::get<Task>(job.work)(*runner_);
  } catch (const std::exception& e) {
    error = error_of(e);
  } catch (...) {
    error = "unknown native engine failure";
  }
  job.done(error);
}

void Executor::run_inferences(std::vector<Job>& jobs) {
  int total = 0;
  bool softmax = false;
  for (const auto& j : jobs) {
    const Inference& in = std::get<Inference>(j.work);
    total += in.batch;
    softmax = softmax || in.output == Output::Probabilities;
  }
  std::string error;
  int passes = 0;
  try {
    for (const Pass& pass : plan_passes(total, options_.max_batch)) {
      run_pass(jobs, pass, total, softmax);
      ++passes;
    }
  } catch (const std::exception& e) {
    error = error_of(e);
  } catch (...) {
    error = "unknown native engine failure";
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.batches += passes;
    stats_.images += total;
    stats_.jobs += jobs.size();
  }
  for (auto& j : jobs) j.done(error);
}

// One pass: each job's rows that fall in it, read where they are, zero rows as padding; then each
// job gets the results of its rows.
void Executor::run_pass(const std::vector<Job>& jobs, const Pass& pass, int total, bool softmax) {
  const size_t image = runner_->image_size();
  struct JobRows {
    const Inference* job;
    int job_row, pass_row, count;
  };
  std::vector<JobRows> shares;
  std::vector<Rows> rows;
  int first = 0;  // the job's first row among the queued images
  for (const auto& j : jobs) {
    const Inference& in = std::get<Inference>(j.work);
    const int lo = std::max(first, pass.row), hi = std::min({first + in.batch, pass.row + pass.size, total});
    if (lo < hi) {
      shares.push_back({&in, lo - first, lo - pass.row, hi - lo});
      rows.push_back({in.input + size_t(lo - first) * image, hi - lo});
    }
    first += in.batch;
  }
  const int padding = pass.row + pass.size - std::min(total, pass.row + pass.size);
  if (padding > 0) {
    if (zeros_.size() < size_t(padding) * image) zeros_.assign(size_t(padding) * image, 0.f);
    rows.push_back({zeros_.data(), padding});
  }
  if (rows.size() == 1) runner_->forward(rows[0].data, pass.size, softmax);
  else if (runner_->reads_rows(pass.size)) runner_->forward_rows(rows, softmax);
  else runner_->forward(gather(rows, image), pass.size, softmax);
  for (const JobRows& s : shares) {
    const int width = runner_->output_width(s.job->output);
    std::memcpy(s.job->dst + size_t(s.job_row) * width, runner_->result(s.job->output) + size_t(s.pass_row) * width,
                size_t(s.count) * width * sizeof(float));
  }
}

// The rows of a pass copied into staging_, on the engine's threads (one thread alone was a visible
// share of a small model's pass: docs/engine-notes.md).
const float* Executor::gather(const std::vector<Rows>& rows, size_t image) {
  std::vector<size_t> offsets(rows.size() + 1, 0);
  for (size_t i = 0; i < rows.size(); ++i) offsets[i + 1] = offsets[i] + size_t(rows[i].count) * image;
  staging_.resize(offsets.back());
  const long n = long(rows.size());
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) std::memcpy(staging_.data() + offsets[i], rows[i].data, (offsets[i + 1] - offsets[i]) * sizeof(float));
  return staging_.data();
}

}  // namespace mobilenet
