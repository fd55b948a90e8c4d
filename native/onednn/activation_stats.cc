#include "activation_stats.h"

#include <algorithm>

namespace mobilenet {

void ActivationStats::update(size_t layer, float max_value) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (max_.size() <= layer) max_.resize(layer + 1, 0.f);
  max_[layer] = std::max(max_[layer], max_value);
}

std::vector<float> ActivationStats::maxima() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return max_;
}

float buffer_max(const float* data, size_t count) {
  float m = 0.f;
  for (size_t i = 0; i < count; ++i) m = std::max(m, data[i]);
  return m;
}

}  // namespace mobilenet
