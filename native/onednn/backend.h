// Runs a Network on oneDNN CPU primitives: the Runner the executor drives. Not thread-safe: one
// Executor thread owns each backend. The jobs are in parts: precision.h (what the CPU offers),
// scale_table.h (int8 scales), weight_store.h (weights and their reorders), arena.h (activations),
// layout.h (layout policy), plan_builder.h (a plan per batch size), plan_cache.h, profiler.h.
#pragma once
#include <memory>
#include <vector>

#include <dnnl.hpp>

#include "../engine/executor.h"
#include "../engine/network.h"
#include "activation_stats.h"
#include "arena.h"
#include "engine_options.h"
#include "layout.h"
#include "plan_cache.h"
#include "precision.h"
#include "scale_table.h"
#include "weight_store.h"

namespace mobilenet {

// How a backend computes. Calibration (stats) is meaningful only in fp32.
struct BackendOptions {
  Precision precision = Precision::FP32;
  // int8: per conv layer (network order), the largest output value to represent; empty = 6 each.
  std::vector<float> activation_max;
  std::shared_ptr<ActivationStats> stats;  // when set, every forward() records conv output maxima
  EngineOptions engine;
};

class OnednnBackend : public Runner {
 public:
  explicit OnednnBackend(std::shared_ptr<Network> net, BackendOptions options = {});
  ~OnednnBackend() override;
  void bind_thread(int threads) override;
  int image_size() const override;
  int output_width(Output output) const override;
  // input: NHWC float [batch, R, R, 3].
  void forward(const float* input, int batch, bool softmax) override;
  const float* result(Output output) const override;
  // Plans whose first step reorders the input take each Rows through its own reorder, straight
  // into the first conv's layout: no gathered copy of a merged batch.
  bool reads_rows(int batch) override;
  void forward_rows(const std::vector<Rows>& rows, bool softmax) override;
  Profile profile(int batch, int runs) override;

 private:
  Plan& plan_for(int batch);
  void run_steps(Plan& plan, size_t from, bool softmax);

  std::shared_ptr<Network> net_;
  BackendOptions options_;
  dnnl::engine cpu_;
  dnnl::stream stream_;
  ScaleTable scales_;
  WeightStore weights_;
  LayoutPolicy layouts_;
  Arena arena_;
  PlanCache plans_;
  Plan* last_ = nullptr;  // the plan of the latest forward()
};

}  // namespace mobilenet
