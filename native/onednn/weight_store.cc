#include "weight_store.h"

#include <iterator>

namespace mobilenet {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

WeightStore::WeightStore(std::shared_ptr<Network> net, Precision precision, const ScaleTable& scales, const dnnl::engine& engine)
    : net_(std::move(net)), engine_(engine) {
  const size_t n = net_->folded().size();
  quantized_.reserve(n);  // plain_ keeps pointers into these
  accumulator_bias_.reserve(n);
  std::vector<float> in_mean(std::begin(kImageMean), std::end(kImageMean));  // E[x] of the next conv's input
  size_t ci = 0;
  for (const auto& f : net_->folded()) {
    const bool fc = net_->layers()[f.layer_index].type == LayerType::FullyConnected;
    wrap_layer(f, precision, fc ? nullptr : &scales[ci], in_mean);
    ci += !fc;
  }
  reordered_.resize(plain_.size());
  plain_in_use_.assign(plain_.size(), false);
  if (precision == Precision::INT8)  // the s8 copies (and the biases) are all the convs need from here on
    for (size_t fi = 0; fi < quantized_.size(); ++fi)
      if (!quantized_[fi].q.empty()) net_->release_weights(fi);
}

// `scales`: the conv's entry (nullptr for the classifier, which stays f32).
void WeightStore::wrap_layer(const FoldedLayer& f, Precision precision, const ConvScales* scales, std::vector<float>& in_mean) {
  const LayerSpec& l = net_->layers()[f.layer_index];
  const bool q8 = precision == Precision::INT8 && scales;
  const dt wdt = q8 ? dt::s8 : dt::f32;
  memory::desc wd;
  if (!scales) wd = memory::desc({l.out_channels, l.in_channels, 1, 1}, dt::f32, tag::oihw);
  else if (l.type == LayerType::Depthwise) wd = memory::desc({l.in_channels, 1, 1, l.kernel, l.kernel}, wdt, tag::goihw);
  else wd = memory::desc({l.out_channels, l.in_channels, l.kernel, l.kernel}, wdt, tag::oihw);
  const memory::desc bd({l.out_channels}, dt::f32, tag::x);
  if (!q8) {
    quantized_.emplace_back();
    accumulator_bias_.emplace_back();
    // oneDNN only reads through these handles; the Network owns the storage and outlives us.
    plain_.emplace_back(wd, engine_, const_cast<float*>(f.weights.data()));
    biases_.emplace_back(bd, engine_, const_cast<float*>(f.bias.data()));
    return;
  }
  quantized_.push_back(quantize_per_output_channel(f.weights.data(), f.weights.size(), l.out_channels));
  std::vector<float> bias = f.bias;
  correct_bias(bias, f.weights.data(), quantized_.back(), l.out_channels, in_mean, l.type == LayerType::Depthwise);
  accumulator_bias_.push_back(bias_for_accumulator(bias, scales->src, quantized_.back().scale));
  in_mean = expected_clipped_normal(f.bn_beta, f.bn_gamma, scales->range);
  plain_.emplace_back(wd, engine_, quantized_.back().q.data());
  biases_.emplace_back(bd, engine_, accumulator_bias_.back().data());
}

memory WeightStore::weights(size_t fi, const memory::desc& wanted, dnnl::stream& stream) {
  for (auto& [desc, mem] : reordered_[fi])
    if (desc == wanted) return mem;
  if (plain_[fi] && plain_[fi].get_desc() == wanted) {
    plain_in_use_[fi] = true;  // a plan reads it from now on: it can no longer be released
    reordered_[fi].emplace_back(wanted, plain_[fi]);
    return plain_[fi];
  }
  memory from = plain_[fi] ? plain_[fi] : reordered_[fi].front().second;
  memory mem(wanted, engine_);
  dnnl::reorder(from, mem).execute(stream, from, mem);
  stream.wait();
  reordered_[fi].emplace_back(wanted, mem);
  if (plain_[fi] && !plain_in_use_[fi] && quantized_[fi].q.empty()) {
    plain_[fi] = memory();
    net_->release_weights(fi);
  }
  return mem;
}

}  // namespace mobilenet
