// Engine tuning chosen by the caller (load({ engine })): typed values, validated in lib/, never read
// from the environment. The defaults are the measured best per CPU (docs/engine-notes.md).
#pragma once
#include <optional>
#include <stdexcept>
#include <string>

namespace mobilenet {

// Activation layout of a plan: the per-CPU default, nhwc, oneDNN's choice (`any`), or nChw16c.
enum class Layout { Auto, Nhwc, Any, Blocked16 };

struct EngineOptions {
  Layout layout = Layout::Auto;
  std::optional<bool> fuse_depthwise;  // nullopt: int8 and nChw16c plans fuse 1×1 + depthwise pairs
  int nhwc_max_batch = 2;              // Auto layout, fp32 without AVX-512: nhwc up to this batch size
  bool huge_pages = true;              // activation arenas of 2 MiB and more on transparent huge pages
};

// "auto" | "nhwc" | "any" | "nChw16c"; throws std::invalid_argument otherwise.
inline Layout parse_layout(const std::string& name) {
  if (name == "auto") return Layout::Auto;
  if (name == "nhwc") return Layout::Nhwc;
  if (name == "any") return Layout::Any;
  if (name == "nChw16c") return Layout::Blocked16;
  throw std::invalid_argument("engine.layout must be one of auto, nhwc, any, nChw16c, not '" + name + "'");
}

}  // namespace mobilenet
