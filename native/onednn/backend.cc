#include "backend.h"

#include <omp.h>
#include <stdexcept>

#include "plan_builder.h"
#include "profiler.h"

namespace mobilenet {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

OnednnBackend::OnednnBackend(std::shared_ptr<Network> net, BackendOptions options)
    : net_(std::move(net)),
      options_(std::move(options)),
      cpu_(dnnl::engine::kind::cpu, 0),
      stream_(cpu_),
      scales_(net_->layers(), options_.precision, options_.activation_max),
      weights_(net_, options_.precision, scales_, cpu_),
      layouts_(options_.engine, options_.precision, net_->layers()),
      arena_(options_.engine.huge_pages) {}

OnednnBackend::~OnednnBackend() = default;

int OnednnBackend::output_width(Output output) const {
  return output == Output::Embedding ? net_->feature_width() : net_->classes();
}

Plan& OnednnBackend::plan_for(int batch) {
  if (Plan* plan = plans_.find(batch)) {
    plan->repoint(arena_);
    return *plan;
  }
  const Layout layout = layouts_.layout_for(batch);
  const PlanContext ctx{*net_, options_.precision, options_.stats != nullptr, scales_, weights_, arena_, cpu_, stream_};
  std::unique_ptr<Plan> evicted = plans_.insert(PlanBuilder(ctx, batch, layout, layouts_.fuses_depthwise(layout)).build());
  if (evicted && evicted.get() == last_) last_ = nullptr;
  return plans_.front();
}

void OnednnBackend::forward(const float* input, int batch, bool softmax) {
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  Plan& plan = plan_for(batch);
  plan.input.set_data_handle(const_cast<float*>(input));
  run_steps(plan, 0, softmax);
}

bool OnednnBackend::reads_rows(int batch) { return !options_.stats && plan_for(batch).input_reorder; }

void OnednnBackend::forward_rows(const std::vector<Rows>& rows, bool softmax) {
  int batch = 0;
  for (const Rows& p : rows) batch += p.count;
  if (batch < 1) throw std::invalid_argument("batch must be >= 1");
  Plan& plan = plan_for(batch);
  if (!plan.input_reorder) throw std::logic_error("forward_rows() on a plan that reads the caller's rows in place");
  const int r = net_->config().resolution;
  const memory::desc& full = plan.converted_input.get_desc();
  char* to = static_cast<char*>(plan.converted_input.get_data_handle());
  int row = 0;
  for (const Rows& p : rows) {
    const memory::dim k = p.count;
    memory::desc src({k, 3, r, r}, dt::f32, tag::nhwc);
    memory::desc dst = full.submemory_desc({k, full.dims()[1], full.dims()[2], full.dims()[3]}, {0, 0, 0, 0});
    auto it = plan.rows_reorders.find(p.count);
    if (it == plan.rows_reorders.end())
      it = plan.rows_reorders.emplace(p.count, dnnl::reorder(dnnl::reorder::primitive_desc(cpu_, src, cpu_, dst, plan.input_attr))).first;
    memory from(src, cpu_, const_cast<float*>(p.data)), into(dst, cpu_, to + size_t(row) * plan.converted_image_bytes);
    it->second.execute(stream_, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, into}});
    row += p.count;
  }
  run_steps(plan, 1, softmax);
}

void OnednnBackend::run_steps(Plan& plan, size_t from, bool softmax) {
  // Softmax is skipped when only logits or features are wanted; everything before it always runs.
  const size_t steps = softmax ? plan.prims.size() : plan.softmax_step;
  size_t tap = 0;
  for (size_t i = from; i < steps; ++i) {
    plan.prims[i].execute(stream_, plan.args[i]);
    // Calibration: conv outputs live in arenas that later layers overwrite, so each is read now.
    if (options_.stats && tap < plan.conv_outputs.size() && plan.conv_outputs[tap].step == i) {
      stream_.wait();
      const auto& t = plan.conv_outputs[tap++];
      options_.stats->update(t.conv_index, buffer_max(static_cast<const float*>(t.dst.get_data_handle()),
                                                        t.dst.get_desc().get_size() / sizeof(float)));
    }
  }
  stream_.wait();
  last_ = &plan;
}

const float* OnednnBackend::result(Output output) const {
  if (!last_) throw std::logic_error("result() before forward()");
  const memory& m = output == Output::Probabilities ? last_->probs : output == Output::Logits ? last_->logits : last_->embedding;
  return static_cast<const float*>(m.get_data_handle());
}

Profile OnednnBackend::profile(int batch, int runs) {
  if (batch < 1 || runs < 1) throw std::invalid_argument("profile needs batch >= 1 and runs >= 1");
  Plan& plan = plan_for(batch);
  // Any input runs the same code; zeros are the tfjs value of a mid-grey (127.5) pixel.
  std::vector<float> input(size_t(batch) * image_size(), 0.f);
  Profile out = profile_plan(plan, net_->layers(), stream_, runs, [&] { forward(input.data(), batch, true); });
  last_ = &plan;
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
