// Table 1 of the MobileNet v1 paper as data. Mirrors lib/core/spec.ts exactly; test/spec-native.test.ts
// keeps the two in agreement, so the TS side can answer summary()/cost() without native code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mobilenet {

enum class ChannelRule { Keras, Slim };
enum class PaddingMode { Same, Symmetric };
enum class Variant { MobileNet, FullConv, Shallow };
enum class LayerType { Conv, Depthwise, Pointwise, Pool, FullyConnected, Softmax };

struct ArchSpec {
  double alpha = 1.0;
  int resolution = 224;
  int classes = 1000;
  ChannelRule channel_rule = ChannelRule::Keras;
  PaddingMode padding = PaddingMode::Same;
  double bn_epsilon = 1e-3;
  Variant variant = Variant::MobileNet;
};

struct LayerSpec {
  std::string name;
  LayerType type;
  int kernel, stride;
  int in_channels, out_channels;
  int in_size, out_size;  // square spatial extent
  int pad_before, pad_after;  // same on both axes: inputs are square
  int64_t macs, params;
};

int scaled_channels(int base, double alpha, ChannelRule rule);
// Throws std::invalid_argument with a readable message for impossible configurations.
std::vector<LayerSpec> build_layers(const ArchSpec& cfg);
const char* layer_type_name(LayerType t);

}  // namespace mobilenet
