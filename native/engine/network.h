// A loaded model: the spec plus BN-folded weights in oneDNN's plain layouts. Backend-independent.
#pragma once
#include <cstddef>
#include <vector>

#include "spec.h"

namespace mobilenet {

struct TensorView {
  const float* data;
  size_t size;
};

struct FoldedLayer {
  size_t layer_index;          // into Network::layers()
  std::vector<float> weights;  // conv/pw: OIHW; depthwise: G,O=1,I=1,H,W; fc: [classes][in_channels]
  std::vector<float> bias;     // folded BN shift, or the classifier bias
  // The BN's γ and β (empty for the classifier): its outputs are ~N(β, γ²) per channel, which int8
  // bias correction uses to estimate the mean of the next layer's input without data.
  std::vector<float> bn_gamma, bn_beta;
};

class Network {
 public:
  // `tensors` holds, for each weighted layer in order: the kernel in TF layout (HWIO, or HWC1 for
  // depthwise) then BN gamma, beta, moving_mean, moving_variance; the classifier gives kernel and bias.
  // Throws std::invalid_argument naming the tensor on any size mismatch.
  Network(const ArchSpec& cfg, const std::vector<TensorView>& tensors);

  const ArchSpec& config() const { return cfg_; }
  const std::vector<LayerSpec>& layers() const { return layers_; }
  const std::vector<FoldedLayer>& folded() const { return folded_; }
  // Frees layer `folded_index`'s weights once a backend holds its own copy in the layout it runs:
  // a loaded model then keeps one copy of its weights, not two. Biases and BN terms stay.
  void release_weights(size_t folded_index) { std::vector<float>().swap(folded_.at(folded_index).weights); }
  int feature_width() const;  // channels entering the classifier
  int classes() const { return cfg_.classes; }
  static size_t expected_tensor_count(const std::vector<LayerSpec>& layers);

 private:
  ArchSpec cfg_;
  std::vector<LayerSpec> layers_;
  std::vector<FoldedLayer> folded_;
};

}  // namespace mobilenet
