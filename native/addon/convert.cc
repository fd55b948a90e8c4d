#include "convert.h"

#include <dnnl.hpp>

#include "../engine/spec.h"
#include "../onednn/precision.h"

namespace addon {

using mobilenet::ArchSpec;

Napi::Error error_with_code(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

[[noreturn]] void throw_code(Napi::Env env, const std::string& code, const std::string& message) {
  throw error_with_code(env, code, message);
}

ArchSpec parse_config(const Napi::Object& o) {
  Napi::Env env = o.Env();
  auto num = [&](const char* key) {
    Napi::Value v = o.Get(key);
    if (!v.IsNumber()) throw_code(env, "ERR_INVALID_ARGUMENT", std::string("config.") + key + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  };
  auto str = [&](const char* key) {
    Napi::Value v = o.Get(key);
    if (!v.IsString()) throw_code(env, "ERR_INVALID_ARGUMENT", std::string("config.") + key + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  };
  ArchSpec c;
  c.alpha = num("alpha");
  c.resolution = static_cast<int>(num("resolution"));
  c.classes = static_cast<int>(num("classes"));
  c.bn_epsilon = num("bnEpsilon");
  std::string rule = str("channelRule"), pad = str("padding"), variant = str("variant");
  if (rule == "keras") c.channel_rule = mobilenet::ChannelRule::Keras;
  else if (rule == "slim") c.channel_rule = mobilenet::ChannelRule::Slim;
  else throw_code(env, "ERR_INVALID_ARGUMENT", "unknown channelRule " + rule);
  if (pad == "same") c.padding = mobilenet::PaddingMode::Same;
  else if (pad == "symmetric") c.padding = mobilenet::PaddingMode::Symmetric;
  else throw_code(env, "ERR_INVALID_ARGUMENT", "unknown padding " + pad);
  if (variant == "mobilenet") c.variant = mobilenet::Variant::MobileNet;
  else if (variant == "full-conv") c.variant = mobilenet::Variant::FullConv;
  else if (variant == "shallow") c.variant = mobilenet::Variant::Shallow;
  else throw_code(env, "ERR_INVALID_ARGUMENT", "unknown variant " + variant);
  return c;
}

// options.engine → EngineOptions. lib/ has validated the values; this only converts them.
mobilenet::EngineOptions parse_engine_options(const Napi::Value& v) {
  mobilenet::EngineOptions e;
  if (!v.IsObject()) return e;
  Napi::Object o = v.As<Napi::Object>();
  if (o.Get("layout").IsString()) e.layout = mobilenet::parse_layout(o.Get("layout").As<Napi::String>().Utf8Value());
  if (o.Get("fuseDepthwise").IsBoolean()) e.fuse_depthwise = o.Get("fuseDepthwise").As<Napi::Boolean>().Value();
  if (o.Get("nhwcMaxBatch").IsNumber()) e.nhwc_max_batch = o.Get("nhwcMaxBatch").As<Napi::Number>().Int32Value();
  if (o.Get("hugePages").IsBoolean()) e.huge_pages = o.Get("hugePages").As<Napi::Boolean>().Value();
  return e;
}

ModelOptions parse_model_options(const Napi::Value& value) {
  Napi::Env env = value.Env();
  ModelOptions m;
  if (!value.IsObject()) return m;
  Napi::Object o = value.As<Napi::Object>();
  try {
    if (o.Get("precision").IsString())
      m.backend.precision = mobilenet::parse_precision(o.Get("precision").As<Napi::String>().Utf8Value());
    m.backend.engine = parse_engine_options(o.Get("engine"));
  } catch (const std::invalid_argument& e) {
    throw_code(env, "ERR_INVALID_ARGUMENT", e.what());
  }
  const std::string why = mobilenet::precision_unsupported_reason(m.backend.precision);
  if (!why.empty() && !o.Get("allowSlowPaths").ToBoolean()) throw_code(env, "ERR_UNSUPPORTED", why);
  if (o.Get("activationMax").IsTypedArray()) {
    Napi::Float32Array a = o.Get("activationMax").As<Napi::Float32Array>();
    m.backend.activation_max.assign(a.Data(), a.Data() + a.ElementLength());
  }
  if (o.Get("collectStats").ToBoolean()) m.backend.stats = std::make_shared<mobilenet::ActivationStats>();
  auto int_of = [&](Napi::Object from, const char* key, int fallback) {
    return from.Get(key).IsNumber() ? from.Get(key).As<Napi::Number>().Int32Value() : fallback;
  };
  m.executor.threads = int_of(o, "threads", m.executor.threads);
  m.executor.max_batch = int_of(o, "maxBatch", m.executor.max_batch);
  m.executor.max_wait_us = int_of(o, "maxWaitUs", m.executor.max_wait_us);
  if (o.Get("limits").IsObject()) {
    Napi::Object l = o.Get("limits").As<Napi::Object>();
    m.limits.batch = int_of(l, "batch", m.limits.batch);
    m.limits.profile_batch = int_of(l, "profileBatch", m.limits.profile_batch);
    m.limits.profile_runs = int_of(l, "profileRuns", m.limits.profile_runs);
  }
  return m;
}

Napi::Value profile_to_js(Napi::Env env, const mobilenet::Profile& p) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array layers = Napi::Array::New(env, p.layers.size());
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const auto& t = p.layers[i];
    Napi::Object l = Napi::Object::New(env);
    l.Set("name", t.name);
    l.Set("type", t.type);
    l.Set("macs", double(t.macs));
    l.Set("ms", t.ms);
    l.Set("kernel", t.kernel);
    l.Set("reorderMs", t.reorder_ms);
    l.Set("reorderKernel", t.reorder_kernel);
    layers.Set(uint32_t(i), l);
  }
  o.Set("layers", layers);
  o.Set("forwardMs", p.forward_ms);
  o.Set("batch", p.batch);
  o.Set("runs", p.runs);
  return o;
}

// specLayers(config) → the native Table 1, for the test that keeps lib/core/spec.ts and spec.cc equal.
Napi::Value SpecLayers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_code(env, "ERR_INVALID_ARGUMENT", "specLayers(config)");
  std::vector<mobilenet::LayerSpec> layers;
  try {
    layers = mobilenet::build_layers(parse_config(info[0].As<Napi::Object>()));
  } catch (const std::invalid_argument& e) {
    throw_code(env, "ERR_INVALID_ARGUMENT", e.what());
  }
  Napi::Array out = Napi::Array::New(env, layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", l.name);
    o.Set("type", mobilenet::layer_type_name(l.type));
    o.Set("kernel", l.kernel);
    o.Set("stride", l.stride);
    o.Set("inChannels", l.in_channels);
    o.Set("outChannels", l.out_channels);
    o.Set("inSize", l.in_size);
    o.Set("outSize", l.out_size);
    o.Set("padBefore", l.pad_before);
    o.Set("padAfter", l.pad_after);
    o.Set("macs", double(l.macs));
    o.Set("params", double(l.params));
    out.Set(uint32_t(i), o);
  }
  return out;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl_version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("cpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : "other");
  o.Set("isa", static_cast<double>(static_cast<int>(dnnl::get_effective_cpu_isa())));
  o.Set("isaName", mobilenet::effective_isa_name());
  // Per precision: "" when it runs on JIT kernels here, else why it is refused; and a note on slower paths.
  Napi::Object unsupported = Napi::Object::New(env), notes = Napi::Object::New(env);
  for (auto p : {mobilenet::Precision::FP32, mobilenet::Precision::BF16, mobilenet::Precision::INT8}) {
    unsupported.Set(mobilenet::precision_name(p), mobilenet::precision_unsupported_reason(p));
    notes.Set(mobilenet::precision_name(p), mobilenet::precision_note(p));
  }
  o.Set("precisionUnsupported", unsupported);
  o.Set("precisionNotes", notes);
  return o;
}

}  // namespace addon
