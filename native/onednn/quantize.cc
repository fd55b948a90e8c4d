#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mobilenet {

QuantizedWeights quantize_per_output_channel(const float* w, size_t size, int out_channels) {
  if (out_channels <= 0 || size % size_t(out_channels) != 0)
    throw std::invalid_argument("quantize: " + std::to_string(size) + " weights do not split into " +
                                std::to_string(out_channels) + " output channels");
  const size_t per = size / size_t(out_channels);
  QuantizedWeights r;
  r.q.resize(size);
  r.scale.resize(out_channels);
  for (int o = 0; o < out_channels; ++o) {
    const float* row = w + size_t(o) * per;
    float m = 0.f;
    for (size_t i = 0; i < per; ++i) m = std::max(m, std::fabs(row[i]));
    const float scale = m > 0.f ? m / 127.f : 1.f;
    r.scale[o] = scale;
    for (size_t i = 0; i < per; ++i) {
      const float v = std::nearbyint(row[i] / scale);
      r.q[size_t(o) * per + i] = static_cast<int8_t>(std::clamp(v, -127.f, 127.f));
    }
  }
  return r;
}

void correct_bias(std::vector<float>& bias, const float* w, const QuantizedWeights& q, int out_channels,
                  const std::vector<float>& in_mean, bool depthwise) {
  const size_t per = q.q.size() / size_t(out_channels);
  const size_t taps = depthwise ? per : per / in_mean.size();
  for (int o = 0; o < out_channels; ++o) {
    double shift = 0;
    for (size_t i = 0; i < per; ++i) {
      const size_t at = size_t(o) * per + i;
      const float mean = in_mean[depthwise ? size_t(o) : i / taps];
      shift += (double(q.q[at]) * q.scale[o] - w[at]) * mean;
    }
    bias[o] = static_cast<float>(bias[o] - shift);
  }
}

std::vector<float> expected_clipped_normal(const std::vector<float>& beta, const std::vector<float>& gamma, float hi) {
  const double inv_sqrt2 = 1 / std::sqrt(2.0), inv_sqrt2pi = 1 / std::sqrt(2 * M_PI);
  auto Phi = [&](double z) { return 0.5 * std::erfc(-z * inv_sqrt2); };
  auto phi = [&](double z) { return inv_sqrt2pi * std::exp(-0.5 * z * z); };
  std::vector<float> r(beta.size());
  for (size_t c = 0; c < beta.size(); ++c) {
    const double mu = beta[c], s = std::max(double(std::fabs(gamma[c])), 1e-6);
    const double a = -mu / s, b = (hi - mu) / s;
    r[c] = static_cast<float>(mu * (Phi(b) - Phi(a)) + s * (phi(a) - phi(b)) + hi * (1 - Phi(b)));
  }
  return r;
}

std::vector<float> bias_for_accumulator(const std::vector<float>& bias, float src_scale, const std::vector<float>& w_scale) {
  std::vector<float> r(bias.size());
  for (size_t o = 0; o < bias.size(); ++o) r[o] = bias[o] / (src_scale * w_scale[o]);
  return r;
}

std::vector<float> output_scales(float src_scale, const std::vector<float>& w_scale, float dst_scale) {
  std::vector<float> r(w_scale.size());
  for (size_t o = 0; o < w_scale.size(); ++o) r[o] = src_scale * w_scale[o] / dst_scale;
  return r;
}

}  // namespace mobilenet
