#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <dnnl.hpp>

namespace mobilenet {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  if (name == "int8") return Precision::INT8;
  throw std::invalid_argument("precision must be 'fp32', 'bf16' or 'int8', got '" + name + "'");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::BF16: return "bf16";
    case Precision::INT8: return "int8";
    default: return "fp32";
  }
}

std::string effective_isa_name() {
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::sse41: return "sse41";
    case isa::avx: return "avx";
    case isa::avx2: return "avx2";
    case isa::avx2_vnni: return "avx2_vnni";
    case isa::avx512_mic: return "avx512_mic";
    case isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case isa::avx512_core: return "avx512_core";
    case isa::avx512_core_vnni: return "avx512_core_vnni";
    case isa::avx512_core_bf16: return "avx512_core_bf16";
    case isa::avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
  }
}

namespace {
int isa_rank() {
  // dnnl_cpu_isa_t values are bit sets that grow with the ISA; compare by the named levels we need.
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::avx512_core_amx: return 5;
    case isa::avx512_core_bf16: return 4;
    case isa::avx512_core_vnni: return 3;
    case isa::avx512_core: return 2;
    case isa::avx2:
    case isa::avx2_vnni: return 1;
    default: return 0;
  }
}
}  // namespace

std::string precision_unsupported_reason(Precision p) {
  const int rank = isa_rank();
  if (p == Precision::BF16 && rank < 2)
    return "bf16 needs AVX-512 (avx512_core; native bf16 needs avx512_bf16): oneDNN 2.6 has no bf16 "
           "convolution for CPUs without it (creating one fails). This CPU offers " +
           effective_isa_name() + "; use precision 'int8' or 'fp32'";
  if (p == Precision::INT8 && rank < 1)
    return "int8 needs AVX2 for oneDNN's int8 JIT convolutions; this CPU offers " + effective_isa_name();
  return "";
}

bool int8_pairs_saturate() {
  return isa_rank() < 3 && dnnl::get_effective_cpu_isa() != dnnl::cpu_isa::avx2_vnni;
}

std::string precision_note(Precision p) {
  const int rank = isa_rank();
  if (p == Precision::BF16 && rank < 4)
    return "this CPU (" + effective_isa_name() + ") lacks avx512_bf16: bf16 dot products are emulated";
  if (p == Precision::INT8 && int8_pairs_saturate())
    return "this CPU (" + effective_isa_name() +
           ") lacks VNNI: int8 runs on vpmaddubsw kernels, whose 16-bit pair sums can saturate (a documented oneDNN "
           "limit), so accuracy is lower than with VNNI";
  return "";
}

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

void ActivationStats::update(size_t layer, float max_value) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (max_.size() <= layer) max_.resize(layer + 1, 0.f);
  max_[layer] = std::max(max_[layer], max_value);
}

std::vector<float> ActivationStats::maxima() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return max_;
}

void ActivationStats::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  max_.clear();
}

float buffer_max(const float* data, size_t count) {
  float m = 0.f;
  for (size_t i = 0; i < count; ++i) m = std::max(m, data[i]);
  return m;
}

}  // namespace mobilenet
