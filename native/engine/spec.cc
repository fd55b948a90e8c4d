#include "spec.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mobilenet {

namespace {
// (pointwise channels at α=1, stride of the block's 3×3 layer) for the 13 separable blocks.
constexpr int kBlocks[13][2] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},  {512, 1},
                                {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};

void pad_for(int size, int kernel, int stride, PaddingMode mode, int& before, int& after, int& out) {
  if (kernel == 1) {
    before = after = 0;
    out = (size - 1) / stride + 1;
    return;
  }
  if (mode == PaddingMode::Symmetric) {
    before = after = (kernel - 1) / 2;
    out = (size + 2 * before - kernel) / stride + 1;
    return;
  }
  out = (size + stride - 1) / stride;
  int total = std::max((out - 1) * stride + kernel - size, 0);
  before = total / 2;
  after = total - before;
}
}  // namespace

int scaled_channels(int base, double alpha, ChannelRule rule) {
  // Same epsilon as lib/core/spec.ts: keeps 0.75·64 from flooring to 47 through binary rounding.
  int scaled = static_cast<int>(std::floor(base * alpha + 1e-9));
  return rule == ChannelRule::Slim ? std::max(scaled, 8) : scaled;
}

const char* layer_type_name(LayerType t) {
  switch (t) {
    case LayerType::Conv: return "conv";
    case LayerType::Depthwise: return "dw";
    case LayerType::Pointwise: return "pw";
    case LayerType::Pool: return "pool";
    case LayerType::FullyConnected: return "fc";
    case LayerType::Softmax: return "softmax";
  }
  return "?";
}

std::vector<LayerSpec> build_layers(const ArchSpec& cfg) {
  if (!(cfg.alpha > 0 && cfg.alpha <= 1)) throw std::invalid_argument("alpha must be in (0, 1]");
  if (cfg.resolution < 32 || cfg.resolution > 4096) throw std::invalid_argument("resolution must be in [32, 4096]");
  if (cfg.classes < 1) throw std::invalid_argument("classes must be >= 1");
  if (scaled_channels(32, cfg.alpha, cfg.channel_rule) < 1)
    throw std::invalid_argument("alpha leaves the first layer with no channels");

  std::vector<LayerSpec> layers;
  int size = cfg.resolution, c = 3;
  auto conv = [&](std::string name, LayerType type, int kernel, int stride, int cout) {
    LayerSpec l{std::move(name), type, kernel, stride, c, cout, size, 0, 0, 0, 0, 0};
    pad_for(size, kernel, stride, cfg.padding, l.pad_before, l.pad_after, l.out_size);
    int64_t weights = type == LayerType::Depthwise ? int64_t(kernel) * kernel * c : int64_t(kernel) * kernel * c * cout;
    l.params = weights;
    l.macs = int64_t(l.out_size) * l.out_size * weights;
    layers.push_back(l);
    size = l.out_size;
    c = cout;
  };
  conv("conv1", LayerType::Conv, 3, 2, scaled_channels(32, cfg.alpha, cfg.channel_rule));
  for (int i = 0; i < 13; ++i) {
    int n = i + 1;
    if (cfg.variant == Variant::Shallow && n >= 7 && n <= 11) continue;
    int cout = scaled_channels(kBlocks[i][0], cfg.alpha, cfg.channel_rule);
    int stride = kBlocks[i][1];
    if (cfg.variant == Variant::FullConv) {
      conv("conv_full_" + std::to_string(n), LayerType::Conv, 3, stride, cout);
    } else {
      conv("conv_dw_" + std::to_string(n), LayerType::Depthwise, 3, stride, c);
      conv("conv_pw_" + std::to_string(n), LayerType::Pointwise, 1, 1, cout);
    }
  }
  layers.push_back({"avg_pool", LayerType::Pool, size, 1, c, c, size, 1, 0, 0, 0, 0});
  int64_t fc = int64_t(c) * cfg.classes;
  layers.push_back({"conv_preds", LayerType::FullyConnected, 1, 1, c, cfg.classes, 1, 1, 0, 0, fc, fc + cfg.classes});
  layers.push_back({"softmax", LayerType::Softmax, 1, 1, cfg.classes, cfg.classes, 1, 1, 0, 0, 0, 0});
  return layers;
}

}  // namespace mobilenet
