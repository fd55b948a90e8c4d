// N-API glue only: argument unpacking, Promise plumbing, errors → JS. The engine lives in
// native/engine and native/onednn and never sees a Node header.
#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <dnnl.hpp>

#include "../engine/executor.h"
#include "../engine/network.h"
#include "../engine/spec.h"
#include "image.h"
#include "../onednn/backend.h"
#include "../onednn/precision.h"
#include "convert.h"

namespace {

using namespace addon;
using mobilenet::ArchSpec;
using mobilenet::Output;

class Model;

// Per-environment state, so the addon works in several worker_threads at once and each
// environment stops its own executors when it goes away.
struct AddonData {
  Napi::FunctionReference model_ctor;
  std::set<Model*> live;
};

// A copy of one call's input. Settled calls hand theirs back to the model (Model::TakeInput), so
// steady traffic copies into memory already mapped instead of page-faulting a fresh block each time.
struct InputCopy {
  std::unique_ptr<float[]> data;
  size_t capacity = 0;
};

// One inference call in flight: lives from submit (main thread) to settle (main thread).
struct Call {
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::Float32Array> output_ref;
  // The caller's input, copied at submit: JavaScript can shrink (resizable), detach (transfer) or
  // rewrite its buffer while the executor runs, and a reference keeps the object alive, not its bytes.
  InputCopy input;
  std::string error;
  std::unique_ptr<mobilenet::Profile> profile;  // profile() calls: the result to hand back
  explicit Call(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod<&Model::Infer>("infer"), InstanceMethod<&Model::Dispose>("dispose"),
                        InstanceMethod<&Model::Stats>("stats"), InstanceMethod<&Model::ProfileLayers>("profile"),
                        InstanceMethod<&Model::ActivationMax>("activationMax"),
                        InstanceMethod<&Model::Hold>("hold"), InstanceMethod<&Model::Release>("release")});
  }

  // new Model(config, tensors: Float32Array[], { threads, maxBatch, maxWaitUs })
  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsArray())
      throw_code(env, "ERR_INVALID_ARGUMENT", "Model(config, tensors[, options]) expects an object and an array");
    ArchSpec cfg = parse_config(info[0].As<Napi::Object>());
    Napi::Array arr = info[1].As<Napi::Array>();
    std::vector<mobilenet::TensorView> views;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
        throw_code(env, "ERR_WEIGHTS", "weight tensor " + std::to_string(i) + " is not a Float32Array");
      Napi::Float32Array f = v.As<Napi::Float32Array>();
      views.push_back({f.Data(), f.ElementLength()});
    }
    ModelOptions opts = parse_model_options(info.Length() > 2 ? info[2] : env.Undefined());
    stats_ = opts.backend.stats;
    limits_ = opts.limits;
    try {
      auto net = std::make_shared<mobilenet::Network>(cfg, views);
      auto backend = std::make_unique<mobilenet::OnednnBackend>(net, opts.backend);
      image_size_ = backend->image_size();
      width_[0] = backend->output_width(Output::Probabilities);
      width_[1] = backend->output_width(Output::Logits);
      width_[2] = backend->output_width(Output::Embedding);
      executor_ = std::make_unique<mobilenet::Executor>(std::move(backend), opts.executor);
    } catch (const std::invalid_argument& e) {
      throw_code(env, "ERR_WEIGHTS", e.what());
    } catch (const dnnl::error& e) {
      throw_code(env, "ERR_NATIVE", std::string("oneDNN: ") + e.what());
    } catch (const std::exception& e) {
      throw_code(env, "ERR_NATIVE", e.what());
    }
    // Completions come back to this thread through one threadsafe function per model. It is
    // referenced only while calls are pending, so an idle model never keeps the process alive.
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "mobilenet",
                                          0, 1);
    tsfn_.Unref(env);
    data_ = env.GetInstanceData<AddonData>();
    data_->live.insert(this);
  }

  ~Model() override { Shutdown("model was garbage-collected"); }

  // Stops the executor and releases the threadsafe function; used by the finaliser and env cleanup.
  void Shutdown(const std::string& why) {
    if (executor_) {
      executor_->abort_and_join(why);
      executor_.reset();
    }
    if (!released_) {
      released_ = true;
      tsfn_.Release();
    }
    spare_inputs_.clear();
    if (data_) {
      data_->live.erase(this);
      data_ = nullptr;
    }
  }

 private:
  void Settle(Napi::Env env, Call* raw) {
    std::unique_ptr<Call> call(raw);
    if (env == nullptr) {
      // The environment is being torn down: its handles are gone, so drop ours without touching them.
      call->output_ref.SuppressDestruct();
      return;
    }
    Napi::HandleScope scope(env);
    try {
      if (call->error.empty() && call->profile) call->deferred.Resolve(profile_to_js(env, *call->profile));
      else if (call->error.empty()) call->deferred.Resolve(call->output_ref.Value());
      else call->deferred.Reject(error_with_code(env, "ERR_NATIVE", call->error).Value());
    } catch (const Napi::Error&) {
      // A worker being terminated refuses to run JavaScript; an exception escaping this callback
      // would abort the whole process, and there is nobody left to receive the result anyway.
    }
    if (!disposed_) RecycleInput(std::move(call->input));
    if (--pending_ == 0) {
      try {
        Unref();
        if (disposed_) StopWhenDrained();
        else tsfn_.Unref(env);
      } catch (const Napi::Error&) {
        // Same: the environment is going away.
      }
    }
  }

  // After dispose() with nothing pending: the executor thread frees the engine and exits.
  void StopWhenDrained() {
    if (executor_) executor_->request_stop();
    if (!released_) {
      released_ = true;
      tsfn_.Release();
    }
  }

  // A call refused before it reaches the executor still answers with a promise (rejected).
  static Napi::Value Rejected(Napi::Env env, const char* code, const std::string& message) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(error_with_code(env, code, message).Value());
    return deferred.Promise();
  }

  // The job's `done`, run on the executor thread: hands the call back to this thread to be settled.
  std::function<void(const std::string&)> Completion(Call* raw) {
    auto tsfn = tsfn_;
    return [raw, tsfn, this](const std::string& error) mutable {
      raw->error = error;
      // Fails only while the environment shuts down, when nobody is left to settle it.
      tsfn.NonBlockingCall(raw, [this](Napi::Env env, Napi::Function, Call* c) { Settle(env, c); });
    };
  }

  // Hands a job to the executor. While anything is pending this object (and so the executor) stays
  // alive and the threadsafe function keeps the event loop running for the result.
  Napi::Promise Submit(Napi::Env env, std::unique_ptr<Call> call, mobilenet::Job job) {
    Napi::Promise promise = call->deferred.Promise();
    if (pending_++ == 0) {
      Ref();
      tsfn_.Ref(env);
    }
    if (!executor_->submit(std::move(job))) {
      if (--pending_ == 0) {
        Unref();
        tsfn_.Unref(env);
      }
      call->deferred.Reject(error_with_code(env, "ERR_DISPOSED", "the model has been disposed").Value());
      return promise;
    }
    call.release();  // Settle() owns it from here
    return promise;
  }

  // hold() / release(): see Executor::hold. A model disposed while held still gets its release, or
  // the calls queued before dispose() would never run.
  Napi::Value Hold(const Napi::CallbackInfo& info) {
    if (!disposed_ && executor_) executor_->hold();
    return info.Env().Undefined();
  }
  Napi::Value Release(const Napi::CallbackInfo& info) {
    if (executor_) executor_->release();
    return info.Env().Undefined();
  }

  // A buffer of at least n floats for an input copy: a spare one if it fits, else a new one.
  InputCopy TakeInput(size_t n) {
    auto best = spare_inputs_.end();
    for (auto it = spare_inputs_.begin(); it != spare_inputs_.end(); ++it)
      if (it->capacity >= n && (best == spare_inputs_.end() || it->capacity < best->capacity)) best = it;
    if (best == spare_inputs_.end()) return InputCopy{std::unique_ptr<float[]>(new float[n]), n};
    InputCopy c = std::move(*best);
    spare_inputs_.erase(best);
    return c;
  }

  // Keeps a settled call's copy for the next call, within a few buffers and kMaxSpareBytes.
  void RecycleInput(InputCopy c) {
    constexpr size_t kMaxSpares = 4, kMaxSpareBytes = size_t(32) << 20;
    size_t bytes = c.capacity * sizeof(float);
    for (const auto& s : spare_inputs_) bytes += s.capacity * sizeof(float);
    if (c.data && spare_inputs_.size() < kMaxSpares && bytes <= kMaxSpareBytes) spare_inputs_.push_back(std::move(c));
  }

  // Copies n floats from src to dst in cache-sized blocks, checking the copy (what will run) for NaN
  // and ±Inf while it is in L1. Returns the index of the first non-finite value, or n.
  static size_t CopyFinite(float* dst, const float* src, size_t n, bool check) {
    constexpr size_t kBlock = 4096;
    for (size_t at = 0; at < n; at += kBlock) {
      const size_t len = std::min(kBlock, n - at);
      std::memcpy(dst + at, src + at, len * sizeof(float));
      if (!check) continue;
      // NaN and ±Inf are the floats whose magnitude bits reach 0x7f800000; a max over integers vectorises.
      uint32_t top = 0;
      for (size_t i = 0; i < len; ++i) {
        uint32_t bits;
        std::memcpy(&bits, dst + at + i, sizeof bits);
        top = std::max(top, bits & 0x7fffffffu);
      }
      if (top >= 0x7f800000u)
        for (size_t i = at; i < at + len; ++i)
          if (!std::isfinite(dst[i])) return i;
    }
    return n;
  }

  // infer(input: Float32Array, batch: number, output: 'probabilities'|'logits'|'embedding'[, allowNonFinite]) → Promise<Float32Array>
  Napi::Value Infer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (disposed_ || !executor_) return Rejected(env, "ERR_DISPOSED", "the model has been disposed");
    if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsString() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      return Rejected(env, "ERR_INVALID_ARGUMENT", "infer(Float32Array, batch, output) got the wrong argument types");
    Napi::Float32Array input = info[0].As<Napi::Float32Array>();
    int64_t batch = info[1].As<Napi::Number>().Int64Value();
    std::string kind = info[2].As<Napi::String>().Utf8Value();
    int which = kind == "probabilities" ? 0 : kind == "logits" ? 1 : kind == "embedding" ? 2 : -1;
    if (which < 0 || batch < 1 || batch > limits_.batch || input.ElementLength() != size_t(batch) * image_size_)
      return Rejected(env, "ERR_SHAPE", "input has " + std::to_string(input.ElementLength()) + " floats; expected batch × " +
                                            std::to_string(image_size_));
    Output output = which == 0 ? Output::Probabilities : which == 1 ? Output::Logits : Output::Embedding;
    const size_t n = input.ElementLength();
    InputCopy copy = TakeInput(n);
    const bool allow_non_finite = info.Length() > 3 && info[3].ToBoolean();
    const size_t bad = CopyFinite(copy.data.get(), input.Data(), n, !allow_non_finite);
    if (bad < n) {
      const std::string value = std::to_string(copy.data[bad]);
      RecycleInput(std::move(copy));
      return Rejected(env, "ERR_INVALID_ARGUMENT", "input value " + std::to_string(bad) + " (image " + std::to_string(bad / image_size_) +
                                                       ") is " + value + "; expected finite numbers (pass allowNonFinite to run anyway)");
    }
    Napi::Float32Array result = Napi::Float32Array::New(env, size_t(batch) * width_[which]);
    auto call = std::make_unique<Call>(env);
    call->output_ref = Napi::Persistent(result);
    call->input = std::move(copy);

    mobilenet::Job job{mobilenet::Inference{call->input.data.get(), int(batch), output, result.Data()}, Completion(call.get())};
    return Submit(env, std::move(call), std::move(job));
  }

  // profile(batch, runs) → Promise<{ layers, forwardMs, batch, runs }>, run on the executor thread
  // between inference batches.
  Napi::Value ProfileLayers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (disposed_ || !executor_) return Rejected(env, "ERR_DISPOSED", "the model has been disposed");
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
      return Rejected(env, "ERR_INVALID_ARGUMENT", "profile(batch, runs) expects two numbers");
    const int batch = info[0].As<Napi::Number>().Int32Value(), runs = info[1].As<Napi::Number>().Int32Value();
    if (batch < 1 || batch > limits_.profile_batch || runs < 1 || runs > limits_.profile_runs)
      return Rejected(env, "ERR_INVALID_ARGUMENT", "profile() needs batch in [1, " + std::to_string(limits_.profile_batch) +
                                                       "] and runs in [1, " + std::to_string(limits_.profile_runs) + "], got " +
                                                       std::to_string(batch) + " and " + std::to_string(runs));
    auto call = std::make_unique<Call>(env);
    Call* raw = call.get();
    mobilenet::Task task = [raw, batch, runs](mobilenet::Runner& runner) {
      raw->profile = std::make_unique<mobilenet::Profile>(runner.profile(batch, runs));
    };
    mobilenet::Job job{std::move(task), Completion(raw)};
    return Submit(env, std::move(call), std::move(job));
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (!disposed_) {
      disposed_ = true;
      spare_inputs_.clear();
      if (pending_ == 0) StopWhenDrained();
    }
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (executor_) {
      auto s = executor_->stats();
      o.Set("batches", double(s.batches));
      o.Set("images", double(s.images));
      o.Set("jobs", double(s.jobs));
      o.Set("queueDepth", double(executor_->queue_depth()));
    }
    o.Set("pending", double(pending_));
    return o;
  }

  // activationMax() → Float32Array of per-conv-layer output maxima seen so far (collectStats models).
  Napi::Value ActivationMax(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!stats_) throw_code(env, "ERR_INVALID_ARGUMENT", "activationMax() needs a model created with collectStats");
    std::vector<float> m = stats_->maxima();
    Napi::Float32Array out = Napi::Float32Array::New(env, m.size());
    std::copy(m.begin(), m.end(), out.Data());
    return out;
  }

  std::shared_ptr<mobilenet::ActivationStats> stats_;
  Limits limits_;
  std::vector<InputCopy> spare_inputs_;  // main thread only (submit and settle)
  std::unique_ptr<mobilenet::Executor> executor_;
  Napi::ThreadSafeFunction tsfn_;
  AddonData* data_ = nullptr;
  int image_size_ = 0;
  int width_[3] = {0, 0, 0};
  int64_t pending_ = 0;
  bool disposed_ = false;
  bool released_ = false;
};

// trimMemory() → whether glibc gave memory back: freed memory (e.g. of large image decodes) stays in
// malloc's arenas otherwise; the server calls this when its decodes go idle.
Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by N-API when the environment goes away
  Napi::Function ctor = Model::Init(env);
  data->model_ctor = Napi::Persistent(ctor);
  exports.Set("Model", ctor);
  exports.Set("specLayers", Napi::Function::New(env, SpecLayers));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("resizeInto", Napi::Function::New(env, mobilenet_addon::ResizeInto));
  exports.Set("resizeIntoSync", Napi::Function::New(env, mobilenet_addon::ResizeIntoSync));
  exports.Set("decodeJpegInto", Napi::Function::New(env, mobilenet_addon::DecodeJpegInto));
  exports.Set("trimMemory", Napi::Function::New(env, TrimMemory));
  // Runs before the environment's objects are finalised: stop every executor thread so a
  // worker_thread that exits never leaves a native thread touching freed state.
  env.AddCleanupHook([data]() {
    std::vector<Model*> models(data->live.begin(), data->live.end());
    for (Model* m : models) m->Shutdown("the JavaScript environment is shutting down");
  });
  return exports;
}

}  // namespace

NODE_API_MODULE(mobilenet_native, Init)
