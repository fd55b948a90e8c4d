#include "backend.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <omp.h>
#include <stdexcept>
#include <sys/mman.h>

namespace mobilenet {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {
constexpr size_t kMaxCachedPlans = 8;  // batch sizes kept ready (primitives only: activations are shared)

// Buffers of 2 MiB and more on transparent huge pages, 64-byte aligned below that. Debian's kernel
// (and this host) run THP in "madvise" mode, so without the advice a batch-32 activation arena
// (100 MB at α=1/224) sits on 25 000 4-KiB pages and the depthwise layers that stream through it
// miss the TLB: with it the α=1/224 batch-32 pass measured 0.90–0.99 (median 0.96) of the time
// without, in five in-process A/B runs. Freed with std::free either way.
void* alloc_buffer(size_t bytes, bool huge) {
  constexpr size_t kHuge = size_t(2) << 20;
  if (!huge || bytes < kHuge) return std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
  if (p) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: a refusal leaves ordinary pages
  return p;
}

// int8: the u8 levels of layer `li`'s output. Without VNNI a 1×1 conv sums pairs of u8·s8 products
// in saturating 16-bit lanes; with 255 levels that clipped ~1e-3 of the pairs in several layers and
// was the largest int8 error left at α=0.25 (relative output error 1.3 % → 3.4 % in pw4/pw6/pw12).
// 127 levels make the pair sum fit; the coarser step costs far less (rounding error ~0.3 % → 0.6 %).
float u8_levels(const std::vector<LayerDesc>& layers, size_t li) {
  const bool feeds_pointwise = li + 1 < layers.size() && layers[li + 1].type == LayerType::Pointwise;
  return feeds_pointwise && int8_pairs_saturate() ? 127.f : 255.f;
}
}

struct OnednnBackend::Plan {
  int batch = 0;
  std::vector<dnnl::primitive> prims;
  std::vector<std::unordered_map<int, memory>> args;
  std::vector<size_t> layer_of;  // per primitive: the layer it belongs to (profile)
  memory input;       // user NHWC, handle set per run
  memory embedding;   // pooled features, nc
  memory logits;      // nc
  memory probs;       // nc
  memory scratchpad;  // shared by every primitive: they run one after another
  // Memories that point into the backend's shared buffers (arena 0/1, or kScratch): re-pointed when
  // a larger plan has grown those buffers since this plan last ran.
  std::vector<std::pair<memory, int>> shared_mems;
  uint64_t buffers_generation = 0;
  size_t softmax_step = 0;
  // The reorder from the caller's NHWC rows into the first conv's layout, when it is step 0:
  // forward_parts() replaces it with one reorder per part, writing at that part's rows.
  bool input_reorder = false;
  dnnl::primitive_attr input_attr;
  memory converted_input;            // step 0's destination
  size_t converted_image_bytes = 0;  // one image in that layout (the batch is the outermost dimension)
  std::unordered_map<int, dnnl::reorder> part_reorders;  // by part row count
  struct Tap {
    size_t step, conv_index;
    memory dst;
  };
  std::vector<Tap> conv_outputs;  // calibration: conv outputs whose maxima are recorded after their step
};

OnednnBackend::OnednnBackend(std::shared_ptr<Network> net, BackendOptions options)
    : net_(std::move(net)), options_(std::move(options)), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
  const auto& layers = net_->layers();
  const bool int8 = options_.precision == Precision::INT8;
  size_t convs = 0;
  for (const auto& f : net_->folded())
    if (layers[f.layer_index].type != LayerType::FullyConnected) ++convs;
  if (int8 && !options_.activation_max.empty() && options_.activation_max.size() != convs)
    throw std::invalid_argument("calibration has " + std::to_string(options_.activation_max.size()) +
                                " activation ranges, this network has " + std::to_string(convs) + " conv layers");
  qweights_.reserve(net_->folded().size());  // plain_weights_ keep pointers into these
  qbias_.reserve(net_->folded().size());
  float src_scale = 1.f / 127.f;  // int8: the s8 input quantises [-1, 1]
  size_t ci = 0;
  std::vector<float> in_mean(std::begin(kImageMean), std::end(kImageMean));  // E[x] of the next conv's input
  for (const auto& f : net_->folded()) {
    const LayerDesc& l = layers[f.layer_index];
    const bool fc = l.type == LayerType::FullyConnected;
    const dt wdt = int8 && !fc ? dt::s8 : dt::f32;
    memory::desc wd;
    if (fc)
      wd = memory::desc({l.out_channels, l.in_channels, 1, 1}, dt::f32, tag::oihw);
    else if (l.type == LayerType::Depthwise)
      wd = memory::desc({l.in_channels, 1, 1, l.kernel, l.kernel}, wdt, tag::goihw);
    else
      wd = memory::desc({l.out_channels, l.in_channels, l.kernel, l.kernel}, wdt, tag::oihw);
    const memory::desc bd({l.out_channels}, dt::f32, tag::x);
    if (int8 && !fc) {
      qweights_.push_back(quantize_per_output_channel(f.weights.data(), f.weights.size(), l.out_channels));
      std::vector<float> bias = f.bias;
      correct_bias(bias, f.weights.data(), qweights_.back(), l.out_channels, in_mean, l.type == LayerType::Depthwise);
      qbias_.push_back(bias_for_accumulator(bias, src_scale, qweights_.back().scale));
      in_mean = expected_clipped_normal(f.bn_beta, f.bn_gamma, activation_max(ci));
      plain_weights_.emplace_back(wd, engine_, qweights_.back().q.data());
      biases_.emplace_back(bd, engine_, qbias_.back().data());
      src_scale = activation_max(ci++) / u8_levels(layers, f.layer_index);  // the u8 output of this layer feeds the next
      continue;
    }
    qweights_.emplace_back();
    qbias_.emplace_back();
    // oneDNN only reads through these handles; the Network owns the storage and outlives us.
    plain_weights_.emplace_back(wd, engine_, const_cast<float*>(f.weights.data()));
    biases_.emplace_back(bd, engine_, const_cast<float*>(f.bias.data()));
  }
  reordered_.resize(plain_weights_.size());
  plain_in_use_.assign(plain_weights_.size(), false);
  if (int8)  // the s8 copies (and the biases) are all the convs need from here on
    for (size_t fi = 0; fi < qweights_.size(); ++fi)
      if (!qweights_[fi].q.empty()) net_->release_weights(fi);
  // fp32 on AVX2: opt-in (engine.fuseDepthwise: true); on AVX-512, fp32 nChw16c plans fuse (below). On
  // AVX2 oneDNN 2.6 fuses only a few fp32 pairs with a real JIT kernel (α=1/224 batch 1:
  // conv_pw_1+conv_dw_2; the rest would be "ref_fused_convolution", two kernels chained, which is
  // never taken), and it measured no faster: α=1/224 forward pass,
  // medians of 5 alternating runs, batch 1 8.9 vs 8.8 ms (off), batch 32 324 vs 294 ms (off).
  // int8: on by default (engine.fuseDepthwise: false turns it off). At batch 32 oneDNN fuses 11 of the 12
  // pairs with jit_uni_int8_1x1 on AVX2, and the pass got faster or stayed level (median of 6,
  // α=1/224 194.8 → 180.9 ms, α=0.75/224 117.7 → 111.6, α=0.25/128 10.3 → 8.9, α=0.5/160 30.7 both).
  // On AVX-512, oneDNN 2.6 answers `any` with nhwc (its brgemm kernels), whose depthwise kernel ran
  // the 14×14 layers 1.5–1.7× slower than onnxruntime's at batch 32. nChw16c takes the older direct
  // kernels instead, where the 1×1 + depthwise pairs also fuse: round-robin A/B in one process,
  // AMD EPYC (Zen 4), medians of 8–12 rounds, fused nChw16c vs `any`: α=1/224 batch 32 0.87×,
  // batch 8 0.88–0.91×, batch 1 0.96×; α=0.75/192 b32 0.82×, α=0.5/160 0.88×, α=0.5/128 0.98×. Not
  // where the first conv has under 16 channels (α=0.25: 8 channels padded to 16; b32 1.05–1.08×).
  blocked16_ = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core && !layers.empty() &&
               layers.front().out_channels >= 16;
}

Layout OnednnBackend::layout_for(int batch) const {
  if (options_.engine.layout != Layout::Auto) return options_.engine.layout;
  // bf16 stays on `any`: nChw16c took α=1/224 batch 32 to 0.87× the time, but its bf16 1×1 kernel
  // (jit_bf16_1x1, another summation order) cost the sample photos 2 top-1 hits at α=0.75, over the
  // bound (brgconv_1x1 on `any`: 1). int8 nChw16c convs are reference code in oneDNN 2.6.
  if (options_.precision != Precision::FP32) return Layout::Any;
  if (blocked16_) return Layout::Blocked16;
  return batch <= options_.engine.nhwc_max_batch ? Layout::Nhwc : Layout::Any;
}

float OnednnBackend::activation_max(size_t conv_index) const {
  if (options_.activation_max.empty()) return kRelu6Max;
  // A calibrated range never exceeds ReLU6's and never collapses to zero (a dead layer).
  return std::clamp(options_.activation_max[conv_index], 1e-3f, kRelu6Max);
}

OnednnBackend::~OnednnBackend() = default;

int OnednnBackend::output_width(Output output) const {
  return output == Output::Embedding ? net_->feature_width() : net_->classes();
}

memory OnednnBackend::weights_for(size_t fi, const memory::desc& wanted) {
  for (auto& [desc, mem] : reordered_[fi])
    if (desc == wanted) return mem;
  if (plain_weights_[fi] && plain_weights_[fi].get_desc() == wanted) {
    plain_in_use_[fi] = true;  // a plan reads it from now on: it can no longer be released
    reordered_[fi].emplace_back(wanted, plain_weights_[fi]);
    return plain_weights_[fi];
  }
  memory from = plain_weights_[fi] ? plain_weights_[fi] : reordered_[fi].front().second;
  memory mem(wanted, engine_);
  dnnl::reorder(from, mem).execute(stream_, from, mem);
  stream_.wait();
  reordered_[fi].emplace_back(wanted, mem);
  if (plain_weights_[fi] && !plain_in_use_[fi] && qweights_[fi].q.empty()) {
    plain_weights_[fi] = memory();
    net_->release_weights(fi);
  }
  return mem;
}

void OnednnBackend::grow_shared(int which, size_t bytes) {
  if (bytes <= shared_bytes_[which]) return;
  shared_[which].reset();  // before allocating the larger one: never both at once
  shared_bytes_[which] = 0;
  shared_[which].reset(alloc_buffer(bytes, options_.engine.huge_pages));
  if (!shared_[which]) throw std::bad_alloc();
  shared_bytes_[which] = bytes;
  ++buffers_generation_;
}

OnednnBackend::Plan& OnednnBackend::plan_for(int batch) {
  for (auto it = plans_.begin(); it != plans_.end(); ++it) {
    if ((*it)->batch == batch) {
      plans_.splice(plans_.begin(), plans_, it);
      Plan& plan = *plans_.front();
      if (plan.buffers_generation != buffers_generation_) {
        for (auto& [mem, which] : plan.shared_mems) mem.set_data_handle(shared_[which].get());
        plan.buffers_generation = buffers_generation_;
      }
      return plan;
    }
  }
  auto plan = std::make_unique<Plan>();
  plan->batch = batch;
  const auto& layers = net_->layers();
  const auto& cfg = net_->config();
  const memory::dim N = batch;

  // primitive_attr copies share one handle, so every primitive gets an attr of its own.
  auto make_attr = [](bool clip, float hi = 6.f, const std::vector<float>* oscales = nullptr) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (oscales) attr.set_output_scales(oscales->size() > 1 ? 1 << 1 : 0, *oscales);  // per dst channel
    if (clip) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, hi);
      attr.set_post_ops(ops);
    }
    return attr;
  };
  std::vector<memory::desc> scratch_descs;
  size_t li = 0;
  auto add = [&](dnnl::primitive p, std::unordered_map<int, memory> a, const memory::desc& scratch) {
    plan->layer_of.push_back(li);
    plan->prims.push_back(std::move(p));
    plan->args.push_back(std::move(a));
    scratch_descs.push_back(scratch);
  };

  plan->input = memory({{N, 3, cfg.resolution, cfg.resolution}, dt::f32, tag::nhwc}, engine_, nullptr);
  memory cur = plan->input;
  // Upper bound of any blocked activation: channels padded to 16 (oneDNN's widest f32 block).
  size_t arena_bytes = size_t(N) * 16 * cfg.resolution * cfg.resolution * sizeof(float);
  for (const auto& l : layers)
    arena_bytes = std::max(arena_bytes, size_t(N) * ((l.out_channels + 15) / 16 * 16) * l.out_size * l.out_size * sizeof(float));
  arena_bytes = (arena_bytes + 63) / 64 * 64;
  grow_shared(0, arena_bytes);
  grow_shared(1, arena_bytes);
  int cur_arena = -1;  // which arena holds `cur` (-1: the caller's input)
  auto in_arena = [&](const memory::desc& d) {
    if (d.get_size() > arena_bytes) throw std::logic_error("activation larger than its arena");
    cur_arena = cur_arena == 0 ? 1 : 0;
    memory m(d, engine_, shared_[cur_arena].get());
    plan->shared_mems.emplace_back(m, cur_arena);
    return m;
  };
  const Precision prec = options_.precision;
  // fp32 batches of one or two run in nhwc end to end: the first conv then reads the caller's NHWC
  // rows directly (no input reorder, and oneDNN has a JIT kernel for nhwc → nhwc there), and the
  // AVX2 1×1 kernels ran the 14×14 and 7×7 layers 3–7 % faster in it. Round-robin A/B in one
  // process, α=1/224: batch 1 0.968–0.987 of the blocked pass, batch 2 0.989; from batch 4 the
  // blocked layout wins (depthwise kernels; batch 8 nhwc took 1.07×). int8 picks its own (`any`).
  // (AVX2; on AVX-512 see blocked16_.) engine.layout overrides the choice for every precision.
  const Layout layout = layout_for(batch);
  const bool nhwc = layout == Layout::Nhwc;
  // int8 fuses 1×1 + depthwise pairs by default, fp32 in nChw16c plans; engine.fuseDepthwise decides.
  const bool fuse_dw = options_.engine.fuse_depthwise.value_or(prec == Precision::INT8 || layout == Layout::Blocked16);
  size_t fi = 0, ci = 0;
  float src_scale = 1.f / 127.f;  // int8: real value of one input step
  for (li = 0; li < layers.size(); ++li) {
   const auto& l = layers[li];
   try {
    if (l.type == LayerType::Conv || l.type == LayerType::Depthwise || l.type == LayerType::Pointwise) {
      const bool dw = l.type == LayerType::Depthwise;
      // The last conv before the pool writes f32: pool, classifier and softmax stay in f32.
      const bool last = li + 1 < layers.size() && layers[li + 1].type == LayerType::Pool;
      dt src_dt = dt::f32, w_dt = dt::f32, dst_dt = dt::f32;
      if (prec == Precision::BF16) {
        // The 1×1 convs (95 % of the mult-adds) read bf16 activations and weights and accumulate in
        // f32; the first conv and the depthwise convs run in f32, so each activation is rounded to
        // bf16 once (by the reorder in front of its 1×1 conv), not twice. With every layer in bf16
        // the sample photos lost 4 top-1 hits of 200 at α=0.75 (172 → 168) and 5 labels changed
        // (agreement 97.5 %); this way 1 hit (171) and 3 labels (98.5 %), on AVX512-BF16 (Zen 4).
        // Every 1×1 conv but the last feeds a depthwise conv: all conv outputs stay f32.
        if (l.type == LayerType::Pointwise) src_dt = w_dt = dt::bf16;
      } else if (prec == Precision::INT8) {
        src_dt = ci == 0 ? dt::s8 : dt::u8;  // the image is signed; every later input is a ReLU6 output
        w_dt = dt::s8;
        dst_dt = last ? dt::f32 : dt::u8;
      }
      const tag act = nhwc ? tag::nhwc : layout == Layout::Blocked16 ? tag::nChw16c : tag::any;
      // The first conv's nhwc → nChw16c has only a reference kernel in oneDNN 2.6; with `any` it
      // reads nchw (one input reorder) with a JIT kernel.
      const tag src_act = ci == 0 && layout == Layout::Blocked16 ? tag::any : act;
      memory::desc src_any({N, l.in_channels, l.in_size, l.in_size}, src_dt, src_act);
      memory::desc dst_any({N, l.out_channels, l.out_size, l.out_size}, dst_dt, act);
      memory::desc w_any = dw ? memory::desc({l.in_channels, 1, 1, l.kernel, l.kernel}, w_dt, tag::any)
                              : memory::desc({l.out_channels, l.in_channels, l.kernel, l.kernel}, w_dt, tag::any);
      memory::desc b_desc({l.out_channels}, dt::f32, tag::x);
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        src_any, w_any, b_desc, dst_any, {l.stride, l.stride},
                                        {l.pad_before, l.pad_before}, {l.pad_after, l.pad_after});
      // BN folded, ReLU6 fused. int8: dst_q = clip(oscale·(Σ src_q·w_q + bias_acc)), the clip at the
      // quantised ReLU6 bound (255 for a u8 output, 6 for the f32 output of the last conv).
      std::vector<float> oscales;
      float clip_hi = 6.f, dst_scale = 1.f;
      if (prec == Precision::INT8) {
        if (!last) {
          clip_hi = u8_levels(layers, li);
          dst_scale = activation_max(ci) / clip_hi;
        }
        oscales = output_scales(src_scale, qweights_[fi].scale, dst_scale);
      }
      dnnl::convolution_forward::primitive_desc pd(d, make_attr(true, clip_hi, oscales.empty() ? nullptr : &oscales), engine_);
      // The depthwise conv after a 1×1 conv runs as its post-op (append_dw) where oneDNN has a JIT
      // kernel for the pair: the 1×1 output then stays in cache rows instead of a full tensor. int8:
      // the same integer arithmetic as two primitives (bit-identical logits), with the 1×1 conv's
      // requantised u8 rows feeding the depthwise kernel directly.
      const LayerDesc* fused_dw = nullptr;
      float fused_dst_scale = dst_scale;  // int8: the scale of the fused depthwise layer's u8 output
      // Never in nhwc plans: oneDNN 2.6's fused fp32 1×1 + depthwise kernel accepts nhwc descriptors
      // but crashes (SIGSEGV, α=1/224 batch 1, conv_pw_1 + conv_dw_2) when it runs.
      if (fuse_dw && !nhwc && (prec == Precision::FP32 || prec == Precision::INT8) && !options_.stats && l.type == LayerType::Pointwise && li + 1 < layers.size() &&
          layers[li + 1].type == LayerType::Depthwise && layers[li + 1].kernel == 3) {
        const LayerDesc& n = layers[li + 1];
        const bool q = prec == Precision::INT8;
        // int8: the depthwise output is requantised to u8 with its own scale, as when it runs alone.
        const float dw_hi = q ? u8_levels(layers, li + 1) : 6.f;
        std::vector<float> dw_scales{1.f};
        if (q) {
          fused_dst_scale = activation_max(ci + 1) / dw_hi;
          dw_scales = output_scales(dst_scale, qweights_[fi + 1].scale, fused_dst_scale);
        }
        dnnl::primitive_attr attr = make_attr(false, clip_hi, oscales.empty() ? nullptr : &oscales);
        dnnl::post_ops ops;
        ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, clip_hi);
        ops.append_dw(q ? dt::s8 : dt::f32, dt::f32, q ? dt::u8 : dt::f32, n.kernel, n.stride, n.pad_before,
                      dw_scales.size() > 1 ? 1 << 1 : 0, dw_scales);
        ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, dw_hi);
        attr.set_post_ops(ops);
        try {
          dnnl::convolution_forward::primitive_desc fpd(d, attr, engine_, true);
          const memory::dims want{N, n.out_channels, n.out_size, n.out_size};
          if (fpd && fpd.dst_desc().dims() == want && std::string(fpd.impl_info_str()).rfind("ref", 0) != 0) {
            pd = fpd;
            fused_dw = &n;
          }
        } catch (const dnnl::error&) {
          // No fused implementation for this shape: keep two primitives.
        }
      }
      // With `any` layouts a layer's dst is normally the next layer's src; this reorder then happens
      // only once, from the user's NHWC input into the first conv's layout (int8: scaled to s8).
      if (pd.src_desc() != cur.get_desc()) {
        memory converted = in_arena(pd.src_desc());
        dnnl::primitive_attr rattr;
        if (prec == Precision::INT8 && ci == 0) rattr.set_output_scales(0, {1.f / src_scale});
        if (plan->prims.empty()) {
          const auto& blk = converted.get_desc().data.format_desc.blocking;
          bool batch_outer = converted.get_desc().data.format_kind == dnnl_blocked;
          for (int b = 0; batch_outer && b < blk.inner_nblks; ++b) batch_outer = blk.inner_idxs[b] != 0;
          for (int d = 1; batch_outer && d < 4; ++d) batch_outer = blk.strides[0] >= blk.strides[d];
          if (batch_outer) {
            plan->input_reorder = true;
            plan->input_attr = rattr;
            plan->converted_input = converted;
            plan->converted_image_bytes = size_t(blk.strides[0]) * memory::data_type_size(converted.get_desc().data_type());
          }
        }
        add(dnnl::reorder(cur, converted, rattr), {{DNNL_ARG_FROM, cur}, {DNNL_ARG_TO, converted}}, memory::desc());
        cur = converted;
      }
      memory dst = in_arena(pd.dst_desc());
      std::unordered_map<int, memory> conv_args{
          {DNNL_ARG_SRC, cur}, {DNNL_ARG_WEIGHTS, weights_for(fi, pd.weights_desc())}, {DNNL_ARG_BIAS, biases_[fi]}, {DNNL_ARG_DST, dst}};
      if (fused_dw) {
        const int w = DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, b = DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS;
        conv_args[w] = weights_for(fi + 1, pd.query_md(dnnl::query::exec_arg_md, w));
        conv_args[b] = biases_[fi + 1];
      }
      add(dnnl::convolution_forward(pd), std::move(conv_args), pd.scratchpad_desc());
      if (fused_dw) {  // the depthwise layer is done too
        ++li;
        ++fi;
        ++ci;
        dst_scale = fused_dst_scale;
      }
      if (options_.stats && dst_dt == dt::f32) plan->conv_outputs.push_back({plan->prims.size() - 1, ci, dst});
      cur = dst;
      src_scale = dst_scale;
      ++fi;
      ++ci;
    } else if (l.type == LayerType::Pool) {
      memory::desc dst_any({N, l.in_channels, 1, 1}, dt::f32, tag::any);
      dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_avg_exclude_padding,
                                    cur.get_desc(), dst_any, {1, 1}, {l.in_size, l.in_size}, {0, 0}, {0, 0});
      dnnl::pooling_forward::primitive_desc pd(d, make_attr(false), engine_);
      memory dst(pd.dst_desc(), engine_);
      add(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, cur}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc());
      cur = dst;
      // Embedding as plain [N, C]: a reorder from whatever layout the pool chose.
      plan->embedding = memory({{N, l.in_channels}, dt::f32, tag::nc}, engine_);
      memory pooled_as_nc(memory::desc({N, l.in_channels, 1, 1}, dt::f32, tag::nchw), engine_,
                          plan->embedding.get_data_handle());
      add(dnnl::reorder(cur, pooled_as_nc), {{DNNL_ARG_FROM, cur}, {DNNL_ARG_TO, pooled_as_nc}}, memory::desc());
    } else if (l.type == LayerType::FullyConnected) {
      memory::desc w_any({l.out_channels, l.in_channels, 1, 1}, dt::f32, tag::any);
      memory::desc b_desc({l.out_channels}, dt::f32, tag::x);
      memory::desc dst_desc({N, l.out_channels}, dt::f32, tag::nc);
      dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_inference, cur.get_desc(), w_any, b_desc, dst_desc);
      dnnl::inner_product_forward::primitive_desc pd(d, make_attr(false), engine_);
      if (pd.src_desc() != cur.get_desc()) {
        memory converted(pd.src_desc(), engine_);
        add(dnnl::reorder(cur, converted), {{DNNL_ARG_FROM, cur}, {DNNL_ARG_TO, converted}}, memory::desc());
        cur = converted;
      }
      plan->logits = memory(pd.dst_desc(), engine_);
      add(dnnl::inner_product_forward(pd),
          {{DNNL_ARG_SRC, cur}, {DNNL_ARG_WEIGHTS, weights_for(fi, pd.weights_desc())}, {DNNL_ARG_BIAS, biases_[fi]},
           {DNNL_ARG_DST, plan->logits}},
          pd.scratchpad_desc());
      ++fi;
    } else if (l.type == LayerType::Softmax) {
      dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, plan->logits.get_desc(), 1);
      dnnl::softmax_forward::primitive_desc pd(d, make_attr(false), engine_);
      plan->probs = memory(pd.dst_desc(), engine_);
      plan->softmax_step = plan->prims.size();
      add(dnnl::softmax_forward(pd), {{DNNL_ARG_SRC, plan->logits}, {DNNL_ARG_DST, plan->probs}}, pd.scratchpad_desc());
    }
   } catch (const dnnl::error& e) {
    throw std::runtime_error("oneDNN could not set up layer " + l.name + " for batch " + std::to_string(batch) + ": " + e.what());
   }
  }

  size_t scratch_bytes = 0;
  for (const auto& d : scratch_descs) scratch_bytes = std::max(scratch_bytes, d.get_size());
  scratch_bytes = std::max<size_t>(64, (scratch_bytes + 63) / 64 * 64);
  grow_shared(kScratch, scratch_bytes);
  plan->scratchpad = memory(memory::desc({static_cast<memory::dim>(scratch_bytes)}, dt::u8, tag::x), engine_, shared_[kScratch].get());
  plan->shared_mems.emplace_back(plan->scratchpad, kScratch);
  plan->buffers_generation = buffers_generation_;
  for (size_t i = 0; i < plan->args.size(); ++i)
    if (scratch_descs[i].get_size() > 0) plan->args[i][DNNL_ARG_SCRATCHPAD] = plan->scratchpad;

  plans_.push_front(std::move(plan));
  if (plans_.size() > kMaxCachedPlans) {
    if (last_ == plans_.back().get()) last_ = nullptr;
    plans_.pop_back();
  }
  return *plans_.front();
}

void OnednnBackend::forward(const float* input, int batch, bool softmax) {
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  Plan& plan = plan_for(batch);
  plan.input.set_data_handle(const_cast<float*>(input));
  run_steps(plan, 0, softmax);
}

void OnednnBackend::forward_parts(const std::vector<Rows>& parts, int batch, bool softmax) {
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  if (parts.size() == 1 && parts[0].count == batch) return forward(parts[0].data, batch, softmax);
  Plan& plan = plan_for(batch);
  if (!plan.input_reorder || options_.stats) return Runner::forward_parts(parts, batch, softmax);
  const auto& cfg = net_->config();
  const memory::desc& full = plan.converted_input.get_desc();
  char* to = static_cast<char*>(plan.converted_input.get_data_handle());
  int row = 0;
  for (const Rows& p : parts) {
    const memory::dim k = p.count;
    memory::desc src({k, 3, cfg.resolution, cfg.resolution}, dt::f32, tag::nhwc);
    memory::desc dst = full.submemory_desc({k, full.dims()[1], full.dims()[2], full.dims()[3]}, {0, 0, 0, 0});
    auto it = plan.part_reorders.find(p.count);
    if (it == plan.part_reorders.end())
      it = plan.part_reorders.emplace(p.count, dnnl::reorder(dnnl::reorder::primitive_desc(engine_, src, engine_, dst, plan.input_attr))).first;
    memory from(src, engine_, const_cast<float*>(p.data)), into(dst, engine_, to + size_t(row) * plan.converted_image_bytes);
    it->second.execute(stream_, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, into}});
    row += p.count;
  }
  // Padding rows: zeros (a mid-grey image), never left-over bytes that might be denormals or NaN.
  if (row < batch) std::memset(to + size_t(row) * plan.converted_image_bytes, 0, size_t(batch - row) * plan.converted_image_bytes);
  run_steps(plan, 1, softmax);
}

void OnednnBackend::run_steps(Plan& plan, size_t from, bool softmax) {
  // Softmax is skipped when only logits or features are wanted; everything before it always runs.
  size_t steps = softmax ? plan.prims.size() : plan.softmax_step;
  if (options_.stats) {
    // Conv outputs live in arenas that later layers overwrite, so each is read right after its step.
    // Rows the executor pads a merged batch with (zeros: a mid-grey image) count too; the calibrator
    // sends batches of its own size, so there are none.
    size_t tap = 0;
    for (size_t i = from; i < steps; ++i) {
      plan.prims[i].execute(stream_, plan.args[i]);
      if (tap < plan.conv_outputs.size() && plan.conv_outputs[tap].step == i) {
        stream_.wait();
        const auto& t = plan.conv_outputs[tap++];
        options_.stats->update(t.conv_index, buffer_max(static_cast<const float*>(t.dst.get_data_handle()),
                                                          t.dst.get_desc().get_size() / sizeof(float)));
      }
    }
  } else {
    for (size_t i = from; i < steps; ++i) plan.prims[i].execute(stream_, plan.args[i]);
  }
  stream_.wait();
  last_ = &plan;
}

const float* OnednnBackend::result(Output output) const {
  if (!last_) throw std::logic_error("result() before forward()");
  const memory& m = output == Output::Probabilities ? last_->probs : output == Output::Logits ? last_->logits : last_->embedding;
  return static_cast<const float*>(m.get_data_handle());
}

namespace {
std::string impl_of(const dnnl::primitive& p) {
  const char* s = nullptr;
  if (dnnl_primitive_desc_query(p.get_primitive_desc(), dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s)
    return "unknown";
  return s;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
}  // namespace

Profile OnednnBackend::profile(int batch, int runs) {
  if (batch < 1 || runs < 1) throw std::invalid_argument("profile needs batch >= 1 and runs >= 1");
  Plan& plan = plan_for(batch);
  // Mid-grey: input values do not change which code runs, only the numbers.
  std::vector<float> input(size_t(batch) * image_size(), 0.25f);
  using clock = std::chrono::steady_clock;
  auto ms_since = [](clock::time_point t) { return std::chrono::duration<double, std::milli>(clock::now() - t).count(); };
  forward(input.data(), batch, true);  // warm: weights reordered, pages touched, JIT code built
  Profile out;
  out.batch = batch;
  out.runs = runs;
  std::vector<double> whole;
  for (int r = 0; r < runs; ++r) {
    auto t = clock::now();
    forward(input.data(), batch, true);
    whole.push_back(ms_since(t));
  }
  out.forward_ms = median(whole);
  std::vector<std::vector<double>> samples(plan.prims.size());
  for (int r = 0; r < runs; ++r) {
    for (size_t i = 0; i < plan.prims.size(); ++i) {
      auto t = clock::now();
      plan.prims[i].execute(stream_, plan.args[i]);
      stream_.wait();
      samples[i].push_back(ms_since(t));
    }
  }
  last_ = &plan;
  const auto& layers = net_->layers();
  out.layers.resize(layers.size());
  for (size_t li = 0; li < layers.size(); ++li) {
    out.layers[li].name = layers[li].name;
    out.layers[li].type = layer_type_name(layers[li].type);
    out.layers[li].macs = layers[li].macs;
  }
  for (size_t li = 0; li + 1 < out.layers.size(); ++li)
    if (std::find(plan.layer_of.begin(), plan.layer_of.end(), li + 1) == plan.layer_of.end())
      out.layers[li + 1].kernel = "fused into " + layers[li].name;  // append_dw: timed with the 1×1 conv
  for (size_t i = 0; i < plan.prims.size(); ++i) {
    LayerTiming& t = out.layers[plan.layer_of[i]];
    const double ms = median(samples[i]);
    t.ms += ms;
    if (plan.prims[i].get_kind() == dnnl::primitive::kind::reorder) {
      t.reorder_ms += ms;
      if (t.reorder_kernel.empty()) t.reorder_kernel = impl_of(plan.prims[i]);
    } else if (t.kernel.empty()) {
      t.kernel = impl_of(plan.prims[i]);
    }
  }
  return out;
}

void OnednnBackend::bind_thread(int threads) {
  // Debian's oneDNN uses OpenMP: the team size is a per-thread setting of the calling thread.
  if (threads > 0) omp_set_num_threads(threads);
}

int OnednnBackend::image_size() const {
  const int r = net_->config().resolution;
  return r * r * 3;
}

}  // namespace mobilenet
