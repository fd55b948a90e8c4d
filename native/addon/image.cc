#include "image.h"

#include <string>

#include "../image/resize.h"

namespace mobilenet_addon {

namespace {

[[noreturn]] void throw_invalid(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, "resizeInto: " + message);
  e.Set("code", Napi::String::New(env, "ERR_INVALID_ARGUMENT"));
  throw e;
}

int int_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw_invalid(info.Env(), std::string(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 1e9) || v != double(int64_t(v))) throw_invalid(info.Env(), std::string(name) + " must be a non-negative integer");
  return int(v);
}

// Unpacks and checks the arguments; the sizes of both buffers are checked here, on the JS thread.
mobilenet::ResizeJob parse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 10) throw_invalid(env, "expected 10 arguments");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_invalid(env, "src must be a Uint8Array");
  if (!info[4].IsArray() || info[4].As<Napi::Array>().Length() != 4) throw_invalid(env, "crop must be [top, left, height, width]");
  if (!info[8].IsTypedArray() || info[8].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_invalid(env, "out must be a Float32Array");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  Napi::Array crop = info[4].As<Napi::Array>();
  Napi::Float32Array out = info[8].As<Napi::Float32Array>();
  mobilenet::ResizeJob j{};
  j.src = src.Data();
  j.src_height = int_arg(info, 1, "height");
  j.src_width = int_arg(info, 2, "width");
  j.channels = int_arg(info, 3, "channels");
  int box[4];
  for (uint32_t k = 0; k < 4; ++k) {
    Napi::Value v = crop.Get(k);
    if (!v.IsNumber()) throw_invalid(env, "crop must hold 4 numbers");
    box[k] = v.As<Napi::Number>().Int32Value();
  }
  j.crop_top = box[0], j.crop_left = box[1], j.crop_height = box[2], j.crop_width = box[3];
  j.out_height = int_arg(info, 5, "outHeight");
  j.out_width = int_arg(info, 6, "outWidth");
  if (!info[7].IsString()) throw_invalid(env, "mode must be 'tfjs' or 'center-crop'");
  const std::string mode = info[7].As<Napi::String>().Utf8Value();
  if (mode == "tfjs") j.normalise = mobilenet::Normalise::Tfjs;
  else if (mode == "center-crop") j.normalise = mobilenet::Normalise::CenterCrop;
  else throw_invalid(env, "mode must be 'tfjs' or 'center-crop', got '" + mode + "'");
  const size_t offset = size_t(int_arg(info, 9, "outOffset"));
  if (size_t(j.src_height) * j.src_width * j.channels > src.ElementLength()) throw_invalid(env, "src is shorter than height·width·channels");
  if (offset + size_t(j.out_height) * j.out_width * 3 > out.ElementLength()) throw_invalid(env, "out is too short for outOffset + outHeight·outWidth·3");
  j.out = out.Data() + offset;
  if (const char* why = mobilenet::check_resize_job(j); *why) throw_invalid(env, why);
  return j;
}

// Holds both buffers alive until the resize has run on the pool.
class ResizeWorker : public Napi::AsyncWorker {
 public:
  ResizeWorker(Napi::Env env, const mobilenet::ResizeJob& job, Napi::Object src, Napi::Object out)
      : Napi::AsyncWorker(env, "mobilenet:resize"), deferred_(Napi::Promise::Deferred::New(env)), job_(job),
        src_(Napi::Persistent(src)), out_(Napi::Persistent(out)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override { mobilenet::resize_bilinear(job_); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  mobilenet::ResizeJob job_;
  Napi::ObjectReference src_, out_;
};

}  // namespace

Napi::Value ResizeInto(const Napi::CallbackInfo& info) {
  const mobilenet::ResizeJob job = parse(info);
  auto* worker = new ResizeWorker(info.Env(), job, info[0].As<Napi::Object>(), info[8].As<Napi::Object>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // deletes itself after OnOK/OnError
  return promise;
}

Napi::Value ResizeIntoSync(const Napi::CallbackInfo& info) {
  mobilenet::resize_bilinear(parse(info));
  return info.Env().Undefined();
}

}  // namespace mobilenet_addon
