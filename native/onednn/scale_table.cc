#include "scale_table.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "quantize.h"

namespace mobilenet {

namespace {
bool is_conv(LayerType t) { return t == LayerType::Conv || t == LayerType::Depthwise || t == LayerType::Pointwise; }

// u8 levels of layer `li`'s output. Without VNNI a 1×1 conv sums pairs of u8·s8 products in
// saturating 16-bit lanes, so an output that feeds one uses 127 levels (127·127·2 fits; 255 does not).
float u8_levels(const std::vector<LayerSpec>& layers, size_t li) {
  const bool feeds_pointwise = li + 1 < layers.size() && layers[li + 1].type == LayerType::Pointwise;
  return feeds_pointwise && int8_pairs_saturate() ? 127.f : 255.f;
}
}  // namespace

ScaleTable::ScaleTable(const std::vector<LayerSpec>& layers, Precision precision, const std::vector<float>& activation_max) {
  size_t convs = 0;
  for (const auto& l : layers) convs += is_conv(l.type);
  if (precision == Precision::INT8 && !activation_max.empty() && activation_max.size() != convs)
    throw std::invalid_argument("calibration has " + std::to_string(activation_max.size()) +
                                " activation ranges, this network has " + std::to_string(convs) + " conv layers");
  convs_.resize(convs);
  if (precision != Precision::INT8) return;
  float src = 1.f / 127.f;  // the s8 input quantises [-1, 1]
  size_t ci = 0;
  for (size_t li = 0; li < layers.size(); ++li) {
    if (!is_conv(layers[li].type)) continue;
    ConvScales& s = convs_[ci];
    // A calibrated range never exceeds ReLU6's and never collapses to zero (a dead layer).
    s.range = activation_max.empty() ? kRelu6Max : std::clamp(activation_max[ci], 1e-3f, kRelu6Max);
    s.src = src;
    // The last conv before the pool writes f32: pool, classifier and softmax stay in f32.
    const bool last = li + 1 < layers.size() && layers[li + 1].type == LayerType::Pool;
    if (!last) {
      s.clip_hi = u8_levels(layers, li);
      s.dst = s.range / s.clip_hi;
    }
    src = s.range / u8_levels(layers, li);
    ++ci;
  }
}

}  // namespace mobilenet
