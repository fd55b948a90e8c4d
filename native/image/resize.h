// TF's bilinear resize (legacy sampling, half_pixel_centers = false) of 8-bit pixels straight into a
// float batch buffer, with the per-pixel normalisation of the preprocessing mode. Pure C++17; the
// same arithmetic as lib/core/image-resize.ts resizeBilinear (interpolate in double, store float32), so the two
// agree bit for bit.
#pragma once
#include <cstdint>

namespace mobilenet {

enum class Normalise {
  Tfjs,        // TF.js mobilenet: x · (2/255) − 1 before resizing, align_corners = true
  CenterCrop,  // TF-slim: x · (1/255) before resizing, align_corners = false, then (y − 0.5) · 2
};

struct ResizeJob {
  const uint8_t* src;
  int src_height, src_width, channels;                 // channels: 1 (grey), 3 (RGB) or 4 (RGBA, alpha dropped)
  int crop_top, crop_left, crop_height, crop_width;    // the region resized (the whole image for 'tfjs')
  int out_height, out_width;
  Normalise normalise;
  float* out;                                          // out_height × out_width × 3 floats, NHWC
};

// Returns an empty string on success, else what is wrong with the job (nothing is written then).
const char* check_resize_job(const ResizeJob& job);
// Precondition: check_resize_job(job) is empty.
void resize_bilinear(const ResizeJob& job);

}  // namespace mobilenet
