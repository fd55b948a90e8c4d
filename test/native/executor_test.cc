// The Executor through its public behaviour (submit, hold/release, stats, stop), on a fake runner.
#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "check.h"
#include "fake_runner.h"

using namespace mobilenet;
using fake::Call;
using fake::Calls;

namespace {
struct Rig {
  std::shared_ptr<fake::Log> log = std::make_shared<fake::Log>();
  std::shared_ptr<fake::Gate> gate = std::make_shared<fake::Gate>();
  std::unique_ptr<Executor> executor;
  explicit Rig(int max_batch, int max_wait_us = 0) {
    ExecutorOptions options;
    options.max_batch = max_batch;
    options.max_wait_us = max_wait_us;
    executor = std::make_unique<Executor>(std::make_unique<fake::Runner>(log, gate), options);
  }
};

// Long enough for a wrongly started job to show up in the log; nothing is timed.
void let_the_executor_run() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

// The real rows of every pass, in execution order (padding rows, id 0, left out).
std::vector<float> rows_run(fake::Log& log) {
  std::lock_guard<std::mutex> lock(log.mutex);
  std::vector<float> ids;
  for (const auto& p : log.passes)
    for (float id : p.ids)
      if (id != 0) ids.push_back(id);
  return ids;
}

void check_passes_are_cached_sizes(fake::Log& log, int max_batch) {
  std::set<int> sizes{max_batch};
  for (int b = 1; b < max_batch; b *= 2) sizes.insert(b);
  std::lock_guard<std::mutex> lock(log.mutex);
  for (const auto& p : log.passes) {
    CHECK_MSG(sizes.count(int(p.ids.size())) == 1, "a pass of " << p.ids.size() << " images (max_batch " << max_batch << ")");
    // Padding is zeros, and only at the end of a pass.
    auto first_pad = std::find(p.ids.begin(), p.ids.end(), 0.f);
    CHECK_MSG(std::all_of(first_pad, p.ids.end(), [](float id) { return id == 0; }), "a real row after padding");
  }
}
}  // namespace

TEST(executor, held_jobs_merge_in_arrival_order) {
  Rig rig(32);
  Calls calls;
  Call& a = calls.add(2, Output::Logits);
  Call& b = calls.add(3, Output::Probabilities);
  Call& c = calls.add(1, Output::Embedding);
  rig.executor->hold();
  for (Call* call : {&a, &b, &c}) REQUIRE(rig.executor->submit(calls.job(*call)));
  CHECK_EQ(rig.executor->queue_depth(), size_t(3));
  let_the_executor_run();
  CHECK_EQ(rig.log->pass_count(), size_t(0));
  CHECK_EQ(calls.answers(a), 0);
  rig.executor->release();
  REQUIRE(calls.wait_all());
  REQUIRE(rig.log->pass_count() == 1);  // 6 images: one pass
  const std::vector<float> want{1001, 1002, 2001, 2002, 2003, 3001};
  CHECK(rows_run(*rig.log) == want);
  CHECK(rig.log->passes[0].softmax);  // one caller wants probabilities
  check_passes_are_cached_sizes(*rig.log, 32);
  for (Call* call : {&a, &b, &c}) fake::check_rows(calls, *call);
  const Executor::Stats s = rig.executor->stats();
  CHECK_EQ(s.jobs, uint64_t(3));
  CHECK_EQ(s.images, uint64_t(6));
  CHECK_EQ(s.batches, uint64_t(1));
  CHECK_EQ(rig.executor->queue_depth(), size_t(0));
}

TEST(executor, holds_are_counted) {
  Rig rig(8);
  Calls calls;
  Call& a = calls.add(1, Output::Logits);
  rig.executor->hold();
  rig.executor->hold();
  REQUIRE(rig.executor->submit(calls.job(a)));
  rig.executor->release();
  let_the_executor_run();
  CHECK_EQ(calls.answers(a), 0);
  CHECK_EQ(rig.log->pass_count(), size_t(0));
  rig.executor->release();
  REQUIRE(calls.wait_all());
  fake::check_rows(calls, a);
  CHECK(!rig.log->passes[0].softmax);  // nobody asked for probabilities
}

TEST(executor, order_kept_across_passes_and_oversized_jobs) {
  const int max_batch = 4;
  Rig rig(max_batch);
  Calls calls;
  const int sizes[] = {3, 2, 5, 1, 4, 9, 1};
  const Output outputs[] = {Output::Logits, Output::Probabilities, Output::Embedding};
  std::vector<float> want;
  rig.executor->hold();
  for (int i = 0; i < 7; ++i) {
    Call& c = calls.add(sizes[i], outputs[i % 3]);
    want.insert(want.end(), c.ids.begin(), c.ids.end());
    REQUIRE(rig.executor->submit(calls.job(c)));
  }
  rig.executor->release();
  REQUIRE(calls.wait_all());
  CHECK(rows_run(*rig.log) == want);
  check_passes_are_cached_sizes(*rig.log, max_batch);
  for (const auto& c : calls.all()) fake::check_rows(calls, *c);
  const Executor::Stats s = rig.executor->stats();
  CHECK_EQ(s.jobs, uint64_t(7));
  CHECK_EQ(s.images, uint64_t(want.size()));
  CHECK_EQ(s.batches, uint64_t(rig.log->pass_count()));
}

TEST(executor, concurrent_submitters_each_get_their_rows) {
  Rig rig(8);
  Calls calls;
  for (int i = 0; i < 60; ++i) calls.add(1 + (i * 7) % 11, Output(i % 3));
  auto submit_every_other = [&](size_t first) {
    for (size_t i = first; i < calls.all().size(); i += 2) rig.executor->submit(calls.job(*calls.all()[i]));
  };
  std::thread t1(submit_every_other, 0), t2(submit_every_other, 1);
  t1.join();
  t2.join();
  REQUIRE(calls.wait_all());
  uint64_t images = 0;
  for (const auto& c : calls.all()) {
    fake::check_rows(calls, *c);
    images += c->batch;
  }
  check_passes_are_cached_sizes(*rig.log, 8);
  CHECK_EQ(rig.executor->stats().jobs, uint64_t(60));
  CHECK_EQ(rig.executor->stats().images, images);
}

TEST(executor, a_task_runs_alone_between_batches) {
  Rig rig(32);
  Calls calls;
  Call& a = calls.add(2, Output::Logits);
  Call& b = calls.add(3, Output::Logits);
  const Runner* seen = nullptr;
  std::thread::id task_thread;
  int task_answers = 0;
  std::string task_error = "not answered";
  rig.executor->hold();
  REQUIRE(rig.executor->submit(calls.job(a)));
  REQUIRE(rig.executor->submit(Calls::task(
      [&](Runner& runner) {
        seen = &runner;
        task_thread = std::this_thread::get_id();
        std::lock_guard<std::mutex> lock(rig.log->mutex);
        rig.log->events.push_back("task");
      },
      [&](const std::string& error) {
        ++task_answers;
        task_error = error;
      })));
  REQUIRE(rig.executor->submit(calls.job(b)));
  rig.executor->release();
  REQUIRE(calls.wait_all());
  CHECK(rig.log->events == std::vector<std::string>({"pass", "task", "pass"}));
  CHECK(rows_run(*rig.log) == std::vector<float>({1001, 1002, 2001, 2002, 2003}));
  CHECK(seen == rig.log->runner);
  CHECK(task_thread == rig.log->executor_thread);
  CHECK_EQ(task_answers, 1);
  CHECK_EQ(task_error, std::string());
  fake::check_rows(calls, a);
  fake::check_rows(calls, b);
  CHECK_EQ(rig.executor->stats().jobs, uint64_t(2));  // inference jobs only
}

TEST(executor, runner_errors_reach_every_merged_caller) {
  Rig rig(32);
  Calls calls;
  Call& a = calls.add(1, Output::Logits);
  Call& b = calls.add(2, Output::Embedding, fake::kThrowStd);
  Call& c = calls.add(1, Output::Probabilities);
  rig.executor->hold();
  for (Call* call : {&a, &b, &c}) REQUIRE(rig.executor->submit(calls.job(*call)));
  rig.executor->release();
  REQUIRE(calls.wait_all());
  for (Call* call : {&a, &b, &c}) {
    CHECK_EQ(calls.answers(*call), 1);
    CHECK_EQ(calls.error(*call), std::string("poisoned row"));
  }
  // Something that is not a std::exception still answers, with a message.
  Call& d = calls.add(1, Output::Logits, fake::kThrowOther);
  REQUIRE(rig.executor->submit(calls.job(d)));
  REQUIRE(calls.wait_all());
  CHECK(!calls.error(d).empty());
  // A failing task answers too, and the executor keeps serving afterwards.
  std::string task_error;
  bool task_answered = false;
  REQUIRE(rig.executor->submit(Calls::task([](Runner&) { throw std::runtime_error("task failed"); },
                                           [&](const std::string& e) {
                                             task_error = e;
                                             task_answered = true;
                                           })));
  Call& e = calls.add(2, Output::Logits);
  REQUIRE(rig.executor->submit(calls.job(e)));
  REQUIRE(calls.wait_all());
  CHECK(task_answered);
  CHECK_EQ(task_error, std::string("task failed"));
  fake::check_rows(calls, e);
}

TEST(executor, request_stop_drains_queued_jobs) {
  Rig rig(32);
  Calls calls;
  Call& a = calls.add(1, Output::Logits);
  Call& b = calls.add(2, Output::Logits);
  Call& c = calls.add(1, Output::Embedding);
  Call& late = calls.add(1, Output::Logits);
  rig.gate->close();
  REQUIRE(rig.executor->submit(calls.job(a)));
  REQUIRE(rig.gate->wait_entered(1));  // a is running; b and c queue behind it
  REQUIRE(rig.executor->submit(calls.job(b)));
  REQUIRE(rig.executor->submit(calls.job(c)));
  rig.executor->request_stop();
  CHECK(!rig.executor->submit(calls.job(late)));
  rig.gate->open();
  rig.executor->join();
  for (Call* call : {&a, &b, &c}) fake::check_rows(calls, *call);
  CHECK_EQ(calls.answers(late), 0);
  std::lock_guard<std::mutex> lock(rig.log->mutex);
  CHECK(rig.log->destroyed);
  CHECK(rig.log->destroyed_on == rig.log->executor_thread);  // freed on the thread that used it
}

TEST(executor, abort_and_join_answers_queued_jobs_and_finishes_the_running_one) {
  Rig rig(32);
  Calls calls;
  Call& a = calls.add(2, Output::Logits);
  Call& b = calls.add(1, Output::Logits);
  Call& c = calls.add(3, Output::Probabilities);
  rig.gate->close();
  REQUIRE(rig.executor->submit(calls.job(a)));
  REQUIRE(rig.gate->wait_entered(1));
  REQUIRE(rig.executor->submit(calls.job(b)));
  REQUIRE(rig.executor->submit(calls.job(c)));
  std::thread aborter([&] { rig.executor->abort_and_join("aborted"); });
  // The queued jobs are answered while the running pass is still held open.
  const bool queued_answered = calls.wait_answered({&b, &c});
  CHECK(queued_answered);
  CHECK_EQ(calls.answers(a), 0);
  rig.gate->open();
  aborter.join();
  fake::check_rows(calls, a);
  for (Call* call : {&b, &c}) {
    CHECK_EQ(calls.answers(*call), 1);
    CHECK_EQ(calls.error(*call), std::string("aborted"));
  }
  CHECK(rows_run(*rig.log) == std::vector<float>({1001, 1002}));  // b and c never ran
  Call& late = calls.add(1, Output::Logits);
  CHECK(!rig.executor->submit(calls.job(late)));
  std::lock_guard<std::mutex> lock(rig.log->mutex);
  CHECK(rig.log->destroyed);
}

TEST(executor, destroying_it_answers_queued_jobs) {
  Rig rig(32);
  Calls calls;
  Call& a = calls.add(1, Output::Logits);
  rig.executor->hold();
  REQUIRE(rig.executor->submit(calls.job(a)));
  rig.executor.reset();
  CHECK_EQ(calls.answers(a), 1);
  CHECK(!calls.error(a).empty());
  CHECK_EQ(rig.log->pass_count(), size_t(0));
  std::lock_guard<std::mutex> lock(rig.log->mutex);
  CHECK(rig.log->destroyed);
}

TEST(executor, a_lone_request_waits_for_company) {
  Rig rig(2, 20'000'000);  // the wait ends when a second image arrives, not by the clock
  Calls calls;
  Call& a = calls.add(1, Output::Logits);
  Call& b = calls.add(1, Output::Logits);
  REQUIRE(rig.executor->submit(calls.job(a)));
  REQUIRE(rig.executor->submit(calls.job(b)));
  REQUIRE(calls.wait_all());
  CHECK_EQ(rig.log->pass_count(), size_t(1));
  CHECK(rows_run(*rig.log) == std::vector<float>({1001, 2001}));
  fake::check_rows(calls, a);
  fake::check_rows(calls, b);
}
