// A model's weights and biases for oneDNN: wrapped once in plain layouts (int8: quantised to s8 with
// bias correction), then reordered into whatever layout a plan's primitive wants, once per layout.
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include <dnnl.hpp>

#include "../engine/network.h"
#include "precision.h"
#include "quantize.h"
#include "scale_table.h"

namespace mobilenet {

class WeightStore {
 public:
  // Holds `net` (its plain weights are released as reordered copies replace them).
  WeightStore(std::shared_ptr<Network> net, Precision precision, const ScaleTable& scales, const dnnl::engine& engine);
  // Layer `folded_index`'s weights in `wanted`'s layout, reordered (and cached) on first request.
  dnnl::memory weights(size_t folded_index, const dnnl::memory::desc& wanted, dnnl::stream& stream);
  const dnnl::memory& bias(size_t folded_index) const { return biases_.at(folded_index); }
  // int8: the per-output-channel weight scales of a conv layer.
  const std::vector<float>& weight_scales(size_t folded_index) const { return quantized_.at(folded_index).scale; }

 private:
  void wrap_layer(const FoldedLayer& f, Precision precision, const ConvScales* scales, std::vector<float>& in_mean);

  std::shared_ptr<Network> net_;
  dnnl::engine engine_;
  // int8: the s8 weights (owned here, wrapped by plain_), their per-OC scales, accumulator-domain biases.
  std::vector<QuantizedWeights> quantized_;
  std::vector<std::vector<float>> accumulator_bias_;
  // fp32/bf16: the first reordered copy replaces the plain weights (released) as the source of any
  // later layout. int8 keeps its plain s8 weights: copies with s8s8 compensation cannot be a source.
  std::vector<dnnl::memory> plain_, biases_;
  std::vector<std::vector<std::pair<dnnl::memory::desc, dnnl::memory>>> reordered_;
  std::vector<bool> plain_in_use_;  // a plan runs on the plain weights themselves
};

}  // namespace mobilenet
