#include "plan_builder.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "quantize.h"

namespace mobilenet {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {
// primitive_attr copies share one handle, so every primitive gets an attr of its own.
dnnl::primitive_attr make_attr(bool clip, float hi = 6.f, const std::vector<float>* oscales = nullptr) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (oscales && !oscales->empty()) attr.set_output_scales(oscales->size() > 1 ? 1 << 1 : 0, *oscales);  // per dst channel
  if (clip) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, hi);
    attr.set_post_ops(ops);
  }
  return attr;
}

// True when `d`'s images are whole blocks one after another (batch outermost), so that Rows of
// the batch can be written at its own rows.
bool batch_outermost(const memory::desc& d) {
  const auto& blk = d.data.format_desc.blocking;
  bool outer = d.data.format_kind == dnnl_blocked;
  for (int b = 0; outer && b < blk.inner_nblks; ++b) outer = blk.inner_idxs[b] != 0;
  for (int i = 1; outer && i < 4; ++i) outer = blk.strides[0] >= blk.strides[i];
  return outer;
}
}  // namespace

PlanBuilder::PlanBuilder(const PlanContext& ctx, int batch, Layout layout, bool fuse_depthwise)
    : ctx_(ctx), layout_(layout), fuse_depthwise_(fuse_depthwise), plan_(std::make_unique<Plan>()), n_(batch) {
  plan_->batch = batch;
}

std::unique_ptr<Plan> PlanBuilder::build() {
  const auto& layers = ctx_.net.layers();
  const int r = ctx_.net.config().resolution;
  plan_->input = memory({{n_, 3, r, r}, dt::f32, tag::nhwc}, ctx_.engine, nullptr);
  cur_ = plan_->input;
  // Upper bound of any blocked activation: channels padded to 16 (oneDNN's widest f32 block).
  arena_bytes_ = size_t(n_) * 16 * r * r * sizeof(float);
  for (const auto& l : layers)
    arena_bytes_ = std::max(arena_bytes_, size_t(n_) * ((l.out_channels + 15) / 16 * 16) * l.out_size * l.out_size * sizeof(float));
  arena_bytes_ = (arena_bytes_ + 63) / 64 * 64;
  ctx_.arena.grow(Arena::kActivationsA, arena_bytes_);
  ctx_.arena.grow(Arena::kActivationsB, arena_bytes_);
  for (li_ = 0; li_ < layers.size(); ++li_) {
    const LayerSpec& l = layers[li_];
    try {
      switch (l.type) {
        case LayerType::Conv:
        case LayerType::Depthwise:
        case LayerType::Pointwise: conv(l); break;
        case LayerType::Pool: pool(l); break;
        case LayerType::FullyConnected: classifier(l); break;
        case LayerType::Softmax: softmax(); break;
      }
    } catch (const dnnl::error& e) {
      throw std::runtime_error("oneDNN could not set up layer " + l.name + " for batch " + std::to_string(n_) + ": " + e.what());
    }
  }
  finish();
  return std::move(plan_);
}

// BN folded, ReLU6 fused. int8: dst_q = clip(oscale·(Σ src_q·w_q + bias_acc)), the clip at the
// quantised ReLU6 bound.
void PlanBuilder::conv(const LayerSpec& l) {
  const auto& layers = ctx_.net.layers();
  const Precision prec = ctx_.precision;
  const bool last = li_ + 1 < layers.size() && layers[li_ + 1].type == LayerType::Pool;
  dt src_dt = dt::f32, w_dt = dt::f32, dst_dt = dt::f32;
  if (prec == Precision::BF16) {
    // Only the 1×1 convs run in bf16, so each activation is rounded to bf16 once (docs/engine-notes.md).
    if (l.type == LayerType::Pointwise) src_dt = w_dt = dt::bf16;
  } else if (prec == Precision::INT8) {
    src_dt = ci_ == 0 ? dt::s8 : dt::u8;  // the image is signed; every later input is a ReLU6 output
    w_dt = dt::s8;
    dst_dt = last ? dt::f32 : dt::u8;
  }
  const bool nhwc = layout_ == Layout::Nhwc;
  const tag act = nhwc ? tag::nhwc : layout_ == Layout::Blocked16 ? tag::nChw16c : tag::any;
  // The first conv's nhwc → nChw16c has only a reference kernel; with `any` it reads nchw, JIT.
  const tag src_act = ci_ == 0 && layout_ == Layout::Blocked16 ? tag::any : act;
  const memory::desc src_any({n_, l.in_channels, l.in_size, l.in_size}, src_dt, src_act);
  const memory::desc dst_any({n_, l.out_channels, l.out_size, l.out_size}, dst_dt, act);
  const memory::desc w_any = l.type == LayerType::Depthwise
                                 ? memory::desc({l.in_channels, 1, 1, l.kernel, l.kernel}, w_dt, tag::any)
                                 : memory::desc({l.out_channels, l.in_channels, l.kernel, l.kernel}, w_dt, tag::any);
  const memory::desc b_desc({l.out_channels}, dt::f32, tag::x);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_any,
                                    w_any, b_desc, dst_any, {l.stride, l.stride}, {l.pad_before, l.pad_before},
                                    {l.pad_after, l.pad_after});
  const ConvScales& s = ctx_.scales[ci_];
  std::vector<float> oscales;
  if (prec == Precision::INT8) oscales = output_scales(s.src, ctx_.weights.weight_scales(fi_), s.dst);
  dnnl::convolution_forward::primitive_desc pd(d, make_attr(true, s.clip_hi, &oscales), ctx_.engine);
  // Never in nhwc plans: oneDNN 2.6's fused fp32 nhwc kernel is accepted but crashes when it runs.
  const bool fused = fuse_depthwise_ && !nhwc && prec != Precision::BF16 && !ctx_.collect_stats &&
                     l.type == LayerType::Pointwise && li_ + 1 < layers.size() &&
                     layers[li_ + 1].type == LayerType::Depthwise && layers[li_ + 1].kernel == 3 &&
                     try_fuse_depthwise(d, s.clip_hi, oscales, pd);
  reorder_input(pd.src_desc());
  memory dst = in_arena(pd.dst_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, cur_},
                                       {DNNL_ARG_WEIGHTS, ctx_.weights.weights(fi_, pd.weights_desc(), ctx_.stream)},
                                       {DNNL_ARG_BIAS, ctx_.weights.bias(fi_)},
                                       {DNNL_ARG_DST, dst}};
  if (fused) {
    const int w = DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, b = DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS;
    args[w] = ctx_.weights.weights(fi_ + 1, pd.query_md(dnnl::query::exec_arg_md, w), ctx_.stream);
    args[b] = ctx_.weights.bias(fi_ + 1);
  }
  add(dnnl::convolution_forward(pd), std::move(args), pd.scratchpad_desc());
  if (fused) {  // the depthwise layer is done too
    ++li_;
    ++fi_;
    ++ci_;
  }
  if (ctx_.collect_stats && dst_dt == dt::f32) plan_->conv_outputs.push_back({plan_->prims.size() - 1, ci_, dst});
  cur_ = dst;
  ++fi_;
  ++ci_;
}

// The depthwise conv after a 1×1 conv as its post-op (append_dw), where oneDNN has a JIT kernel for
// the pair: the 1×1 output then stays in cache rows. int8: the same integer arithmetic as two
// primitives, the 1×1 conv's requantised u8 rows feeding the depthwise kernel directly.
bool PlanBuilder::try_fuse_depthwise(const dnnl::convolution_forward::desc& d, float clip_hi,
                                 const std::vector<float>& oscales, dnnl::convolution_forward::primitive_desc& pd) {
  const LayerSpec& n = ctx_.net.layers()[li_ + 1];
  const bool q = ctx_.precision == Precision::INT8;
  const ConvScales& pw = ctx_.scales[ci_];
  const ConvScales& dw = ctx_.scales[ci_ + 1];
  const float dw_hi = q ? dw.clip_hi : 6.f;
  std::vector<float> dw_scales{1.f};
  if (q) dw_scales = output_scales(pw.dst, ctx_.weights.weight_scales(fi_ + 1), dw.dst);
  dnnl::primitive_attr attr = make_attr(false, clip_hi, &oscales);
  dnnl::post_ops ops;
  ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, clip_hi);
  ops.append_dw(q ? dt::s8 : dt::f32, dt::f32, q ? dt::u8 : dt::f32, n.kernel, n.stride, n.pad_before,
                dw_scales.size() > 1 ? 1 << 1 : 0, dw_scales);
  ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, dw_hi);
  attr.set_post_ops(ops);
  try {
    dnnl::convolution_forward::primitive_desc fpd(d, attr, ctx_.engine, true);
    const memory::dims want{n_, n.out_channels, n.out_size, n.out_size};
    if (fpd && fpd.dst_desc().dims() == want && std::string(fpd.impl_info_str()).rfind("ref", 0) != 0) {
      pd = fpd;
      return true;
    }
  } catch (const dnnl::error&) {
    // No fused implementation for this shape: keep two primitives.
  }
  return false;
}

// With `any` layouts a layer's dst is the next layer's src, so this runs once, from the caller's
// NHWC rows into the first conv's layout (int8: scaled to s8).
void PlanBuilder::reorder_input(const memory::desc& wanted) {
  if (wanted == cur_.get_desc()) return;
  memory converted = in_arena(wanted);
  dnnl::primitive_attr rattr;
  if (ctx_.precision == Precision::INT8 && ci_ == 0) rattr.set_output_scales(0, {1.f / ctx_.scales[0].src});
  if (plan_->prims.empty() && batch_outermost(converted.get_desc())) {
    const auto& blk = converted.get_desc().data.format_desc.blocking;
    plan_->input_reorder = true;
    plan_->input_attr = rattr;
    plan_->converted_input = converted;
    plan_->converted_image_bytes = size_t(blk.strides[0]) * memory::data_type_size(converted.get_desc().data_type());
  }
  add(dnnl::reorder(cur_, converted, rattr), {{DNNL_ARG_FROM, cur_}, {DNNL_ARG_TO, converted}}, memory::desc());
  cur_ = converted;
}

void PlanBuilder::pool(const LayerSpec& l) {
  const memory::desc dst_any({n_, l.in_channels, 1, 1}, dt::f32, tag::any);
  dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_avg_exclude_padding,
                                cur_.get_desc(), dst_any, {1, 1}, {l.in_size, l.in_size}, {0, 0}, {0, 0});
  dnnl::pooling_forward::primitive_desc pd(d, make_attr(false), ctx_.engine);
  memory dst(pd.dst_desc(), ctx_.engine);
  add(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, cur_}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc());
  cur_ = dst;
  // The embedding as plain [N, C]: a reorder from whatever layout the pool chose.
  plan_->embedding = memory({{n_, l.in_channels}, dt::f32, tag::nc}, ctx_.engine);
  memory pooled_as_nc(memory::desc({n_, l.in_channels, 1, 1}, dt::f32, tag::nchw), ctx_.engine,
                      plan_->embedding.get_data_handle());
  add(dnnl::reorder(cur_, pooled_as_nc), {{DNNL_ARG_FROM, cur_}, {DNNL_ARG_TO, pooled_as_nc}}, memory::desc());
}

void PlanBuilder::classifier(const LayerSpec& l) {
  const memory::desc w_any({l.out_channels, l.in_channels, 1, 1}, dt::f32, tag::any);
  const memory::desc b_desc({l.out_channels}, dt::f32, tag::x);
  const memory::desc dst_desc({n_, l.out_channels}, dt::f32, tag::nc);
  dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_inference, cur_.get_desc(), w_any, b_desc, dst_desc);
  dnnl::inner_product_forward::primitive_desc pd(d, make_attr(false), ctx_.engine);
  if (pd.src_desc() != cur_.get_desc()) {
    memory converted(pd.src_desc(), ctx_.engine);
    add(dnnl::reorder(cur_, converted), {{DNNL_ARG_FROM, cur_}, {DNNL_ARG_TO, converted}}, memory::desc());
    cur_ = converted;
  }
  plan_->logits = memory(pd.dst_desc(), ctx_.engine);
  add(dnnl::inner_product_forward(pd),
      {{DNNL_ARG_SRC, cur_},
       {DNNL_ARG_WEIGHTS, ctx_.weights.weights(fi_, pd.weights_desc(), ctx_.stream)},
       {DNNL_ARG_BIAS, ctx_.weights.bias(fi_)},
       {DNNL_ARG_DST, plan_->logits}},
      pd.scratchpad_desc());
  ++fi_;
}

void PlanBuilder::softmax() {
  dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, plan_->logits.get_desc(), 1);
  dnnl::softmax_forward::primitive_desc pd(d, make_attr(false), ctx_.engine);
  plan_->probs = memory(pd.dst_desc(), ctx_.engine);
  plan_->softmax_step = plan_->prims.size();
  add(dnnl::softmax_forward(pd), {{DNNL_ARG_SRC, plan_->logits}, {DNNL_ARG_DST, plan_->probs}}, pd.scratchpad_desc());
}

// One scratchpad for every primitive, sized for the largest.
void PlanBuilder::finish() {
  size_t bytes = 0;
  for (const auto& d : scratch_descs_) bytes = std::max(bytes, d.get_size());
  bytes = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  ctx_.arena.grow(Arena::kScratch, bytes);
  plan_->scratchpad = memory(memory::desc({static_cast<memory::dim>(bytes)}, dt::u8, tag::x), ctx_.engine,
                             ctx_.arena.data(Arena::kScratch));
  plan_->arena_mems.emplace_back(plan_->scratchpad, Arena::kScratch);
  plan_->arena_generation = ctx_.arena.generation();
  for (size_t i = 0; i < plan_->args.size(); ++i)
    if (scratch_descs_[i].get_size() > 0) plan_->args[i][DNNL_ARG_SCRATCHPAD] = plan_->scratchpad;
}

memory PlanBuilder::in_arena(const memory::desc& d) {
  if (d.get_size() > arena_bytes_) throw std::logic_error("activation larger than its arena");
  cur_slot_ = cur_slot_ == Arena::kActivationsA ? Arena::kActivationsB : Arena::kActivationsA;
  memory m(d, ctx_.engine, ctx_.arena.data(cur_slot_));
  plan_->arena_mems.emplace_back(m, cur_slot_);
  return m;
}

void PlanBuilder::add(dnnl::primitive p, std::unordered_map<int, memory> args, const memory::desc& scratch) {
  plan_->layer_of.push_back(li_);
  plan_->prims.push_back(std::move(p));
  plan_->args.push_back(std::move(args));
  scratch_descs_.push_back(scratch);
}

}  // namespace mobilenet
