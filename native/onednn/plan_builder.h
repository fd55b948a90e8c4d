// Builds the Plan of one batch size, one method per layer kind (after oneDNN's cnn_inference_f32
// example: `any` formats, weights reordered once, a primitive list run in order).
#pragma once
#include <memory>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "../engine/network.h"
#include "arena.h"
#include "engine_options.h"
#include "plan.h"
#include "precision.h"
#include "scale_table.h"
#include "weight_store.h"

namespace mobilenet {

struct PlanContext {
  const Network& net;
  Precision precision;
  bool collect_stats;  // calibration: record conv outputs (fp32), never fuse
  const ScaleTable& scales;
  WeightStore& weights;
  Arena& arena;
  const dnnl::engine& engine;
  dnnl::stream& stream;
};

class PlanBuilder {
 public:
  PlanBuilder(const PlanContext& ctx, int batch, Layout layout, bool fuse_depthwise);
  std::unique_ptr<Plan> build();

 private:
  using memory = dnnl::memory;
  void conv(const LayerSpec& l);
  // Tries to run the depthwise layer after the current 1×1 conv as its post-op; true when `pd` now does both.
  bool try_fuse_depthwise(const dnnl::convolution_forward::desc& d, float clip_hi,
                      const std::vector<float>& oscales, dnnl::convolution_forward::primitive_desc& pd);
  void reorder_input(const memory::desc& wanted);  // into the conv's src layout, when it differs
  void pool(const LayerSpec& l);
  void classifier(const LayerSpec& l);
  void softmax();
  void finish();
  memory in_arena(const memory::desc& d);
  void add(dnnl::primitive p, std::unordered_map<int, memory> args, const memory::desc& scratch);

  PlanContext ctx_;
  Layout layout_;
  bool fuse_depthwise_;
  std::unique_ptr<Plan> plan_;
  memory::dim n_;
  memory cur_;             // the activation the next layer reads
  int cur_slot_ = -1;      // which arena holds cur_ (-1: the caller's input)
  size_t arena_bytes_ = 0;
  size_t li_ = 0, fi_ = 0, ci_ = 0;  // layer, folded (weighted) layer and conv layer indices
  std::vector<memory::desc> scratch_descs_;
};

}  // namespace mobilenet
