// Times a plan: whole forward passes, then every primitive alone (the stream waited after each).
#pragma once
#include <functional>
#include <vector>

#include <dnnl.hpp>

#include "../engine/profile.h"
#include "../engine/spec.h"
#include "plan.h"

namespace mobilenet {

// `forward` runs one whole pass of `plan`; it is called once to warm up, then `runs` times.
Profile profile_plan(Plan& plan, const std::vector<LayerSpec>& layers, dnnl::stream& stream, int runs,
                     const std::function<void()>& forward);

}  // namespace mobilenet
