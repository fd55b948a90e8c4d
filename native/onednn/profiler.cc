#include "profiler.h"

#include <algorithm>
#include <chrono>
#include <string>

namespace mobilenet {

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

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// One row per layer of the spec; a depthwise layer run as its 1×1 conv's post-op is named so.
std::vector<LayerTiming> layer_rows(const Plan& plan, const std::vector<LayerSpec>& layers) {
  std::vector<LayerTiming> rows(layers.size());
  for (size_t li = 0; li < layers.size(); ++li) {
    rows[li].name = layers[li].name;
    rows[li].type = layer_type_name(layers[li].type);
    rows[li].macs = layers[li].macs;
  }
  for (size_t li = 0; li + 1 < rows.size(); ++li)
    if (std::find(plan.layer_of.begin(), plan.layer_of.end(), li + 1) == plan.layer_of.end())
      rows[li + 1].kernel = "fused into " + layers[li].name;
  return rows;
}
}  // namespace

Profile profile_plan(Plan& plan, const std::vector<LayerSpec>& layers, dnnl::stream& stream, int runs,
                     const std::function<void()>& forward) {
  forward();  // warm: weights reordered, pages touched, JIT code built
  Profile out;
  out.batch = plan.batch;
  out.runs = runs;
  std::vector<double> whole;
  for (int r = 0; r < runs; ++r) {
    auto t = Clock::now();
    forward();
    whole.push_back(ms_since(t));
  }
  out.forward_ms = median(whole);
  std::vector<std::vector<double>> samples(plan.prims.size());
  for (int r = 0; r < runs; ++r) {
    for (size_t i = 0; i < plan.prims.size(); ++i) {
      auto t = Clock::now();
      plan.prims[i].execute(stream, plan.args[i]);
      stream.wait();
      samples[i].push_back(ms_since(t));
    }
  }
  out.layers = layer_rows(plan, layers);
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

}  // namespace mobilenet
