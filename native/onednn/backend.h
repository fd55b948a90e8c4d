// Runs a Network on oneDNN CPU primitives. Not thread-safe: one Executor thread owns each Backend.
#pragma once
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <dnnl.hpp>

#include "../engine/executor.h"
#include "../engine/network.h"
#include "quantize.h"

namespace mobilenet {

struct LayerTiming {
  std::string name;
  std::string kernel;  // oneDNN implementation name, e.g. "brgconv:avx512_core" or "ref:any"
  double ms;
};

class OnednnBackend : public Runner {
 public:
  explicit OnednnBackend(std::shared_ptr<const Network> net, BackendOptions options = {});
  ~OnednnBackend() override;
  void bind_thread(int threads) override;
  int image_size() const override;
  int output_width(Output output) const override;
  // input: NHWC float [batch, R, R, 3].
  void forward(const float* input, int batch, bool softmax) override;
  const float* result(Output output) const override;

 private:
  struct Plan;
  Plan& plan_for(int batch);
  float activation_max(size_t conv_index) const;
  dnnl::memory weights_for(size_t folded_index, const dnnl::memory::desc& wanted);

  std::shared_ptr<const Network> net_;
  BackendOptions options_;
  // int8: the s8 weights (owned here, wrapped by plain_weights_), their per-OC scales, accumulator-domain biases.
  std::vector<QuantizedWeights> qweights_;
  std::vector<std::vector<float>> qbias_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  // Plain-layout weights and biases, wrapped once; reordered copies are cached per wanted layout.
  std::vector<dnnl::memory> plain_weights_, biases_;
  std::vector<std::vector<std::pair<dnnl::memory::desc, dnnl::memory>>> reordered_;
  std::list<std::unique_ptr<Plan>> plans_;  // most recently used first
  Plan* last_ = nullptr;                    // the plan of the latest forward()
};

}  // namespace mobilenet
