// int8 maths: per-output-channel s8 weight quantisation of BN-folded weights, bias correction, and
// the scales oneDNN applies between the s32 accumulator and a layer's u8 output.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mobilenet {

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
// not average out, so the expected shift is subtracted from the float bias (docs/engine-notes.md).
// `in_mean` is E[x] per input channel; `depthwise`: each output channel reads only its own input.
void correct_bias(std::vector<float>& bias, const float* w, const QuantizedWeights& q, int out_channels,
                  const std::vector<float>& in_mean, bool depthwise);
// E[clip(z, 0, hi)] per channel for z ~ N(beta, gamma²): the mean of a ReLU6 output whose BN layer
// normalises to N(β, γ²). Lets bias correction work without calibration images (DFQ's data-free estimate).
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

}  // namespace mobilenet
