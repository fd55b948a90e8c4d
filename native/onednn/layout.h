// Which activation layout a plan uses, and whether it fuses 1×1 + depthwise pairs: the measured
// best per CPU and precision (docs/engine-notes.md), unless EngineOptions say otherwise.
#pragma once
#include <vector>

#include "../engine/spec.h"
#include "engine_options.h"
#include "precision.h"

namespace mobilenet {

class LayoutPolicy {
 public:
  LayoutPolicy(const EngineOptions& options, Precision precision, const std::vector<LayerSpec>& layers);
  // Never Layout::Auto.
  Layout layout_for(int batch) const;
  bool fuses_depthwise(Layout layout) const;

 private:
  EngineOptions options_;
  Precision precision_;
  bool blocked16_;  // fp32 default: an AVX-512 CPU and ≥ 16 channels from the first conv
};

}  // namespace mobilenet
