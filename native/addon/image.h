// N-API glue of the image stage (native/image): resizeInto / resizeIntoSync.
#pragma once
#include <napi.h>

namespace mobilenet_addon {

// resizeInto(src, height, width, channels, crop[4], outHeight, outWidth, mode, out, outOffset): Promise<void>,
// run on libuv's pool; resizeIntoSync: the same on the calling thread.
Napi::Value ResizeInto(const Napi::CallbackInfo& info);
Napi::Value ResizeIntoSync(const Napi::CallbackInfo& info);
// decodeJpegInto(bytes, shrink, maxPixels, outHeight, outWidth, mode, out, outOffset): Promise<string>,
// "" when out holds the image, else why it takes the general path (native/image/jpeg.h); on libuv's pool.
Napi::Value DecodeJpegInto(const Napi::CallbackInfo& info);

}  // namespace mobilenet_addon
