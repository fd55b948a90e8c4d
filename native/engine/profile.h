// Per-layer timings of one forward pass: what Runner::profile returns.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mobilenet {

struct LayerTiming {
  std::string name;
  std::string type;    // layer_type_name: conv, dw, pw, pool, fc, softmax
  int64_t macs = 0;
  std::string kernel;  // the backend's implementation name, e.g. "jit_1x1:avx2" or "ref:any"
  double ms = 0;       // median of the layer's primitives, each timed alone; reorders included
  double reorder_ms = 0;
  std::string reorder_kernel;  // the reorder run for this layer (layout change), if any
};

struct Profile {
  std::vector<LayerTiming> layers;
  double forward_ms = 0;  // median of whole forward passes (no wait between primitives)
  int batch = 0, runs = 0;
};

}  // namespace mobilenet
