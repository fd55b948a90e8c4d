// int8: the scale of every conv layer's input and output, computed once per model. Each conv's u8
// output is the next conv's input, so one table serves weight quantisation and plan building.
#pragma once
#include <cstddef>
#include <vector>

#include "../engine/spec.h"
#include "precision.h"

namespace mobilenet {

struct ConvScales {
  float src = 1.f;      // real value of one input step
  float dst = 1.f;      // real value of one output step (1: an f32 output)
  float clip_hi = 6.f;  // the ReLU6 bound in output steps (255 or 127 for u8, 6 for f32)
  float range = 6.f;    // the output range quantised: the calibrated maximum, or ReLU6's 6
};

class ScaleTable {
 public:
  // `activation_max`: per conv layer (network order) the largest output to represent; empty: 6 each.
  // fp32/bf16 get the identity entries. Throws std::invalid_argument on a wrong count.
  ScaleTable(const std::vector<LayerSpec>& layers, Precision precision, const std::vector<float>& activation_max);
  const ConvScales& operator[](size_t conv_index) const { return convs_.at(conv_index); }
  size_t size() const { return convs_.size(); }

 private:
  std::vector<ConvScales> convs_;
};

}  // namespace mobilenet
