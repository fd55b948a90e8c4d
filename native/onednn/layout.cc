#include "layout.h"

#include <dnnl.hpp>

namespace mobilenet {

LayoutPolicy::LayoutPolicy(const EngineOptions& options, Precision precision, const std::vector<LayerSpec>& layers)
    : options_(options), precision_(precision) {
  // On AVX-512 oneDNN answers `any` with nhwc (brgemm); nChw16c takes its faster direct kernels,
  // except where the first conv has under 16 channels and is padded to 16.
  blocked16_ = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core && !layers.empty() &&
               layers.front().out_channels >= 16;
}

Layout LayoutPolicy::layout_for(int batch) const {
  if (options_.layout != Layout::Auto) return options_.layout;
  // bf16's nChw16c 1×1 kernel is less exact; int8's nChw16c convs are reference code.
  if (precision_ != Precision::FP32) return Layout::Any;
  if (blocked16_) return Layout::Blocked16;
  // Small fp32 batches in nhwc: the first conv reads the caller's rows, and the AVX2 1×1 kernels are faster.
  return batch <= options_.nhwc_max_batch ? Layout::Nhwc : Layout::Any;
}

bool LayoutPolicy::fuses_depthwise(Layout layout) const {
  // fp32 fusion pays only with nChw16c's direct kernels; on AVX2 few pairs have a JIT kernel.
  return options_.fuse_depthwise.value_or(precision_ == Precision::INT8 || layout == Layout::Blocked16);
}

}  // namespace mobilenet
