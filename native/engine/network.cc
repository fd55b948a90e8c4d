#include "network.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace mobilenet {

namespace {
bool has_weights(LayerType t) {
  return t == LayerType::Conv || t == LayerType::Depthwise || t == LayerType::Pointwise || t == LayerType::FullyConnected;
}

const TensorView& take(const std::vector<TensorView>& tensors, size_t& next, size_t expected, const std::string& name) {
  if (next >= tensors.size()) throw std::invalid_argument("missing tensor " + name);
  const TensorView& t = tensors[next++];
  if (t.size != expected || (expected > 0 && t.data == nullptr))
    throw std::invalid_argument("tensor " + name + " has " + std::to_string(t.size) + " values, expected " +
                                std::to_string(expected));
  return t;
}
}  // namespace

size_t Network::expected_tensor_count(const std::vector<LayerSpec>& layers) {
  size_t n = 0;
  for (const auto& l : layers) {
    if (l.type == LayerType::FullyConnected) n += 2;
    else if (has_weights(l.type)) n += 5;
  }
  return n;
}

Network::Network(const ArchSpec& cfg, const std::vector<TensorView>& tensors) : cfg_(cfg), layers_(build_layers(cfg)) {
  if (tensors.size() != expected_tensor_count(layers_))
    throw std::invalid_argument("expected " + std::to_string(expected_tensor_count(layers_)) + " weight tensors, got " +
                                std::to_string(tensors.size()));
  size_t next = 0;
  for (size_t li = 0; li < layers_.size(); ++li) {
    const LayerSpec& l = layers_[li];
    if (!has_weights(l.type)) continue;
    const size_t k = l.kernel, cin = l.in_channels, cout = l.out_channels;
    FoldedLayer f{li, {}, {}, {}, {}};
    if (l.type == LayerType::FullyConnected) {
      const TensorView& w = take(tensors, next, cin * cout, l.name + "/kernel");
      const TensorView& b = take(tensors, next, cout, l.name + "/bias");
      f.weights.resize(cin * cout);
      for (size_t i = 0; i < cin; ++i)
        for (size_t o = 0; o < cout; ++o) f.weights[o * cin + i] = w.data[i * cout + o];
      f.bias.assign(b.data, b.data + cout);
      folded_.push_back(std::move(f));
      continue;
    }
    const bool dw = l.type == LayerType::Depthwise;
    const std::string kname = l.name + (dw ? "/depthwise_kernel" : "/kernel");
    const TensorView& w = take(tensors, next, dw ? k * k * cin : k * k * cin * cout, kname);
    const TensorView* bn[4];
    const char* parts[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    for (int p = 0; p < 4; ++p) bn[p] = &take(tensors, next, cout, l.name + "_bn/" + parts[p]);

    // Fold BN in double: y = γ(x−μ)/√(σ²+ε) + β  ⇒  w' = w·s, b' = β − μ·s with s = γ/√(σ²+ε).
    std::vector<double> scale(cout);
    f.bias.resize(cout);
    f.bn_gamma.assign(bn[0]->data, bn[0]->data + cout);
    f.bn_beta.assign(bn[1]->data, bn[1]->data + cout);
    for (size_t o = 0; o < cout; ++o) {
      double var = bn[3]->data[o];
      if (!(var + cfg.bn_epsilon > 0)) throw std::invalid_argument(l.name + "_bn/moving_variance + epsilon is not positive");
      scale[o] = double(bn[0]->data[o]) / std::sqrt(var + cfg.bn_epsilon);
      f.bias[o] = static_cast<float>(double(bn[1]->data[o]) - double(bn[2]->data[o]) * scale[o]);
    }
    f.weights.resize(w.size);
    if (dw) {
      // TF [kh][kw][c][1] → oneDNN goihw [c][1][1][kh][kw]
      for (size_t y = 0; y < k; ++y)
        for (size_t x = 0; x < k; ++x)
          for (size_t c = 0; c < cin; ++c)
            f.weights[(c * k + y) * k + x] = static_cast<float>(w.data[(y * k + x) * cin + c] * scale[c]);
    } else {
      // TF HWIO [kh][kw][i][o] → oneDNN OIHW [o][i][kh][kw]
      for (size_t y = 0; y < k; ++y)
        for (size_t x = 0; x < k; ++x)
          for (size_t i = 0; i < cin; ++i)
            for (size_t o = 0; o < cout; ++o)
              f.weights[((o * cin + i) * k + y) * k + x] =
                  static_cast<float>(w.data[((y * k + x) * cin + i) * cout + o] * scale[o]);
    }
    folded_.push_back(std::move(f));
  }
}

int Network::feature_width() const {
  for (const auto& l : layers_)
    if (l.type == LayerType::FullyConnected) return l.in_channels;
  return 0;
}

}  // namespace mobilenet
