// Runs a Network on oneDNN CPU primitives. Not thread-safe: one Executor thread owns each Backend.
#pragma once
#include <list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <dnnl.hpp>

#include "../engine/executor.h"
#include "../engine/network.h"
#include "quantize.h"

namespace mobilenet {

struct LayerTiming {
  std::string name;
  std::string type;    // layer_type_name: conv, dw, pw, pool, fc, softmax
  int64_t macs = 0;
  std::string kernel;  // oneDNN implementation name, e.g. "jit_1x1:avx2" or "ref:any"
  double ms = 0;       // median of the layer's primitives, each timed alone; reorders included
  double reorder_ms = 0;
  std::string reorder_kernel;  // the reorder run for this layer (layout change), if any
};

struct Profile {
  std::vector<LayerTiming> layers;
  double forward_ms = 0;  // median of whole forward passes (no wait between primitives)
  int batch = 0, runs = 0;
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
  // Each part goes through its own input reorder straight into the first conv's layout.
  void forward_parts(const std::vector<Rows>& parts, int batch, bool softmax) override;
  // Times every primitive of the batch-`batch` plan alone (stream waited after each), `runs` times.
  Profile profile(int batch, int runs);

 private:
  struct Plan;
  Plan& plan_for(int batch);
  void run_steps(Plan& plan, size_t from, bool softmax);
  float activation_max(size_t conv_index) const;
  dnnl::memory weights_for(size_t folded_index, const dnnl::memory::desc& wanted);
  void grow_shared(int which, size_t bytes);

  std::shared_ptr<Network> net_;  // its plain weights are released as reordered copies replace them
  BackendOptions options_;
  // int8: the s8 weights (owned here, wrapped by plain_weights_), their per-OC scales, accumulator-domain biases.
  std::vector<QuantizedWeights> qweights_;
  std::vector<std::vector<float>> qbias_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  // Plain-layout weights and biases, wrapped once; reordered copies are cached per wanted layout.
  // fp32/bf16: the first reordered copy replaces the plain weights (released) as the source of any
  // later layout. int8 keeps its plain s8 weights: copies with s8s8 compensation cannot be a source.
  std::vector<dnnl::memory> plain_weights_, biases_;
  std::vector<std::vector<std::pair<dnnl::memory::desc, dnnl::memory>>> reordered_;
  std::vector<bool> plain_in_use_;  // a plan runs on the plain weights themselves
  // Plans run one at a time, so they share their activations (two arenas that layers alternate
  // between: a layer's input is never its output) and the scratchpad, sized for the largest batch
  // planned so far: a model holds one batch of activations, not one per cached batch size.
  static constexpr int kScratch = 2;
  std::unique_ptr<void, void (*)(void*)> shared_[3] = {{nullptr, std::free}, {nullptr, std::free}, {nullptr, std::free}};
  size_t shared_bytes_[3] = {0, 0, 0};
  uint64_t buffers_generation_ = 0;  // bumped whenever a shared buffer moves
  std::list<std::unique_ptr<Plan>> plans_;  // most recently used first
  Plan* last_ = nullptr;                    // the plan of the latest forward()
  Layout layout_for(int batch) const;
  bool blocked16_ = false;   // fp32 plans use nChw16c (an AVX-512 CPU and ≥ 16 channels from the first conv)
};

}  // namespace mobilenet
