// JavaScript values ↔ engine types for the addon: options in, profiles and tables out. lib/ has
// validated every value (lib/core/validate.ts); this converts, and refuses what it cannot convert.
#pragma once
#include <napi.h>

#include <string>

#include "../engine/executor.h"
#include "../engine/profile.h"
#include "../engine/spec.h"
#include "../onednn/backend.h"

namespace addon {

Napi::Error error_with_code(Napi::Env env, const std::string& code, const std::string& message);
[[noreturn]] void throw_code(Napi::Env env, const std::string& code, const std::string& message);

mobilenet::ArchSpec parse_config(const Napi::Object& o);

// The limits lib/core/limits.ts passes in (the one table; these defaults only serve a bare addon).
struct Limits {
  int batch = 65536;         // images per infer() call
  int profile_batch = 1024;  // images per profiled pass
  int profile_runs = 10000;
};

struct ModelOptions {
  mobilenet::ExecutorOptions executor;
  mobilenet::BackendOptions backend;
  Limits limits;
};
// new Model(config, tensors, options)'s options: { threads, maxBatch, maxWaitUs, precision,
// activationMax, collectStats, allowSlowPaths, engine, limits }.
ModelOptions parse_model_options(const Napi::Value& value);

Napi::Value profile_to_js(Napi::Env env, const mobilenet::Profile& p);
// specLayers(config) and info(): the module's functions.
Napi::Value SpecLayers(const Napi::CallbackInfo& info);
Napi::Value Info(const Napi::CallbackInfo& info);

}  // namespace addon
