// Reduced-precision support for the oneDNN backend: the numeric mode, what the CPU offers for it,
// per-output-channel s8 weight quantisation of BN-folded weights, and activation scales.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine_options.h"

namespace mobilenet {

enum class Precision { FP32, BF16, INT8 };

// Parses "fp32" | "bf16" | "int8"; throws std::invalid_argument otherwise.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision p);

// The ISA oneDNN dispatches to on this CPU, by name ("avx2", "avx512_core_vnni", ...).
std::string effective_isa_name();
// Empty when `p` runs on JIT kernels on this CPU; otherwise why not (names the missing instructions).
// oneDNN 2.6 runs bf16 convolutions only with AVX-512 (native on avx512_core_bf16, emulated on
// avx512_core); on an AVX2 CPU it has no bf16 convolution at all (measured: primitive creation fails).
// int8 has JIT kernels down to AVX2 (vpmaddubsw); VNNI makes them faster and exact (no s16 saturation).
std::string precision_unsupported_reason(Precision p);
// True where oneDNN's int8 convolutions sum u8·s8 products pairwise in saturating 16-bit lanes
// (vpmaddubsw: AVX2 or AVX-512 without VNNI). 255·127·2 exceeds 32767; 127·127·2 does not.
bool int8_pairs_saturate();

// A note for the user when `p` runs but on a slower path (e.g. int8 without VNNI); else empty.
std::string precision_note(Precision p);

// s8 weights with one scale per output channel: w ≈ q · scale[oc].
struct QuantizedWeights {
  std::vector<int8_t> q;
  std::vector<float> scale;
};
// `w` holds `out_channels` contiguous rows (oneDNN oihw / goihw plain layouts are OC-major).
// Symmetric, round to nearest, scale = max|w_oc| / 127 (1 for an all-zero channel).
QuantizedWeights quantize_per_output_channel(const float* w, size_t size, int out_channels);

// Bias correction (Nagel et al. 2019, "Data-Free Quantization", §4.2): rounding a channel's weights
// shifts its output by Σ (w_q·scale − w)·E[x] on average, because ReLU6 inputs are all ≥ 0 and do
// not average out. Measured on α=0.75: this shift is most of each 1×1 layer's int8 error (relative
// output error 1–3 % → 0.4–0.8 %), so the expected shift is subtracted from the float bias.
// `in_mean` is E[x] per input channel; `depthwise`: each output channel reads only its own input.
void correct_bias(std::vector<float>& bias, const float* w, const QuantizedWeights& q, int out_channels,
                  const std::vector<float>& in_mean, bool depthwise);
// E[clip(z, 0, hi)] per channel for z ~ N(beta, gamma²): the mean of a ReLU6 output whose BN layer
// normalises to N(β, γ²). Lets bias correction work without calibration images (DFQ's data-free
// estimate; within ~10 % of the measured channel means on the sample photos).
std::vector<float> expected_clipped_normal(const std::vector<float>& beta, const std::vector<float>& gamma, float hi);
// Channel means of the network input under 'tfjs' preprocessing (x/127.5 − 1): the ImageNet RGB means.
constexpr float kImageMean[3] = {0.485f * 2 - 1, 0.456f * 2 - 1, 0.406f * 2 - 1};

// Conv output ReLU6 bound: without calibration every activation is quantised over [0, 6].
constexpr float kRelu6Max = 6.f;

// The float bias in the s32 accumulator domain of an int8 conv: oneDNN 2.x computes
// dst = oscale · (Σ src_q·w_q + bias), so bias_acc = bias / (src_scale · w_scale[oc]).
std::vector<float> bias_for_accumulator(const std::vector<float>& bias, float src_scale, const std::vector<float>& w_scale);
// Per-output-channel oneDNN output scales: src_scale · w_scale[oc] / dst_scale.
std::vector<float> output_scales(float src_scale, const std::vector<float>& w_scale, float dst_scale);

// Running per-layer maxima of conv outputs (one slot per conv/dw/pw layer, in network order),
// filled by an fp32 backend in calibration mode and read by the addon from the JS thread.
class ActivationStats {
 public:
  void update(size_t layer, float max_value);
  std::vector<float> maxima() const;
  void reset();

 private:
  mutable std::mutex mutex_;
  std::vector<float> max_;
};

// How a backend computes. Calibration (stats) is meaningful only in fp32.
struct BackendOptions {
  Precision precision = Precision::FP32;
  // int8: per conv layer (network order), the largest output value to represent; empty = kRelu6Max each.
  std::vector<float> activation_max;
  std::shared_ptr<ActivationStats> stats;  // when set, every forward() records conv output maxima
  EngineOptions engine;
};

// Max of a float buffer (used on a conv's dst, whose padding lanes oneDNN keeps at zero).
float buffer_max(const float* data, size_t count);

}  // namespace mobilenet
