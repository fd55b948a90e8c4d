#include "image.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../image/jpeg.h"
#include "../image/resize.h"

namespace mobilenet_addon {

namespace {

[[noreturn]] void throw_invalid(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, "image stage: " + message);
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
mobilenet::Normalise mode_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw_invalid(info.Env(), "mode must be 'tfjs' or 'center-crop'");
  const std::string mode = info[i].As<Napi::String>().Utf8Value();
  if (mode == "tfjs") return mobilenet::Normalise::Tfjs;
  if (mode == "center-crop") return mobilenet::Normalise::CenterCrop;
  throw_invalid(info.Env(), "mode must be 'tfjs' or 'center-crop', got '" + mode + "'");
}

// out[offset ..] with room for outHeight · outWidth · 3 floats (checked on the JS thread).
float* out_arg(const Napi::CallbackInfo& info, size_t i, size_t offset, int out_height, int out_width) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_invalid(info.Env(), "out must be a Float32Array");
  Napi::Float32Array out = info[i].As<Napi::Float32Array>();
  if (offset + size_t(out_height) * out_width * 3 > out.ElementLength()) throw_invalid(info.Env(), "out is too short for outOffset + outHeight·outWidth·3");
  return out.Data() + offset;
}

mobilenet::ResizeJob parse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 10) throw_invalid(env, "expected 10 arguments");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_invalid(env, "src must be a Uint8Array");
  if (!info[4].IsArray() || info[4].As<Napi::Array>().Length() != 4) throw_invalid(env, "crop must be [top, left, height, width]");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  Napi::Array crop = info[4].As<Napi::Array>();
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
  j.normalise = mode_arg(info, 7);
  if (size_t(j.src_height) * j.src_width * j.channels > src.ElementLength()) throw_invalid(env, "src is shorter than height·width·channels");
  j.out = out_arg(info, 8, size_t(int_arg(info, 9, "outOffset")), j.out_height, j.out_width);
  if (const char* why = mobilenet::check_resize_job(j); *why) throw_invalid(env, why);
  return j;
}

// Where a job on the pool writes its R·R·3 floats: its own buffer, copied into the caller's `out`
// on the JS thread once done. The caller may detach or shrink out's ArrayBuffer meanwhile
// (structuredClone with transfer, resize()); a reference keeps the object, not its memory.
class OutCopy {
 public:
  OutCopy(Napi::Object out, const float* at, size_t floats)
      : out_(Napi::Persistent(out)), offset_(size_t(at - out.As<Napi::Float32Array>().Data())), scratch_(floats) {}
  float* scratch() { return scratch_.data(); }
  // False when out no longer has room: its buffer went away while the job ran.
  bool deliver() {
    Napi::Float32Array out = out_.Value().As<Napi::Float32Array>();
    if (out.ElementLength() < offset_ + scratch_.size()) return false;
    std::memcpy(out.Data() + offset_, scratch_.data(), scratch_.size() * sizeof(float));
    return true;
  }
  Napi::Error detached(Napi::Env env) const {
    Napi::Error e = Napi::Error::New(env, "image stage: out's buffer was detached or shrunk while the image was being prepared");
    e.Set("code", Napi::String::New(env, "ERR_INVALID_ARGUMENT"));
    return e;
  }

 private:
  Napi::ObjectReference out_;
  size_t offset_;
  std::vector<float> scratch_;
};

// src is held alive until the resize has run (the JS side passes pixels no caller can reach).
class ResizeWorker : public Napi::AsyncWorker {
 public:
  ResizeWorker(Napi::Env env, const mobilenet::ResizeJob& job, Napi::Object src, Napi::Object out)
      : Napi::AsyncWorker(env, "mobilenet:resize"), deferred_(Napi::Promise::Deferred::New(env)), job_(job),
        src_(Napi::Persistent(src)), out_(out, job.out, size_t(job.out_height) * job.out_width * 3) {
    job_.out = out_.scratch();
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override { mobilenet::resize_bilinear(job_); }
  void OnOK() override {
    if (out_.deliver()) deferred_.Resolve(Env().Undefined());
    else deferred_.Reject(out_.detached(Env()).Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  mobilenet::ResizeJob job_;
  Napi::ObjectReference src_;
  OutCopy out_;
};

// decodeJpegInto(bytes, shrink, maxPixels, outHeight, outWidth, mode, out, outOffset): native/image/jpeg.h.
class JpegWorker : public Napi::AsyncWorker {
 public:
  JpegWorker(const Napi::CallbackInfo& info)
      : Napi::AsyncWorker(info.Env(), "mobilenet:jpeg"), deferred_(Napi::Promise::Deferred::New(info.Env())) {
    Napi::Env env = info.Env();
    if (info.Length() != 8) throw_invalid(env, "decodeJpegInto: expected 8 arguments");
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw_invalid(env, "bytes must be a Uint8Array");
    // A copy (a compressed image: KB to a few MB), so that the caller's buffer may be detached or
    // reused while the job runs; out gets the same care (OutCopy).
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    bytes_.assign(bytes.Data(), bytes.Data() + bytes.ElementLength());
    job_.data = bytes_.data();
    job_.size = bytes_.size();
    job_.shrink = int_arg(info, 1, "shrink");
    const double max_pixels = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 0;
    if (!(max_pixels >= 1 && max_pixels <= 9007199254740991.0)) throw_invalid(env, "maxPixels must be a positive safe integer");
    job_.max_pixels = uint64_t(max_pixels);
    job_.out_height = int_arg(info, 3, "outHeight");
    job_.out_width = int_arg(info, 4, "outWidth");
    if (job_.out_height < 1 || job_.out_width < 1) throw_invalid(env, "outHeight and outWidth must be positive");
    job_.normalise = mode_arg(info, 5);
    float* at = out_arg(info, 6, size_t(int_arg(info, 7, "outOffset")), job_.out_height, job_.out_width);
    out_ = std::make_unique<OutCopy>(info[6].As<Napi::Object>(), at, size_t(job_.out_height) * job_.out_width * 3);
    job_.out = out_->scratch();
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override { why_ = mobilenet::decode_jpeg_into(job_); }
  void OnOK() override {
    // A hand-back wrote nothing the caller needs; an image is copied into out.
    if (why_.empty() && !out_->deliver()) deferred_.Reject(out_->detached(Env()).Value());
    else deferred_.Resolve(Napi::String::New(Env(), why_));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  mobilenet::JpegJob job_{};
  std::string why_;
  std::vector<uint8_t> bytes_;
  std::unique_ptr<OutCopy> out_;
};

}  // namespace

Napi::Value DecodeJpegInto(const Napi::CallbackInfo& info) {
  auto* worker = new JpegWorker(info);  // a bad argument throws before anything is queued
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

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
