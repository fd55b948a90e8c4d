// Calibration: the largest output of each conv layer over every pass of an fp32 model.
#pragma once
#include <cstddef>
#include <mutex>
#include <vector>

namespace mobilenet {

// Running per-layer maxima of conv outputs (one slot per conv/dw/pw layer, in network order),
// filled by an fp32 backend in calibration mode and read by the addon from the JS thread.
class ActivationStats {
 public:
  void update(size_t layer, float max_value);
  std::vector<float> maxima() const;

 private:
  mutable std::mutex mutex_;
  std::vector<float> max_;
};

// Max of a float buffer (used on a conv's dst, whose padding lanes oneDNN keeps at zero).
float buffer_max(const float* data, size_t count);

}  // namespace mobilenet
