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

// Where the resize reads source rows: rows lo and hi (hi is lo or lo + 1) of the whole image, each
// a row of src_width · channels bytes. Asked in order, never for a row before the previous lo.
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual void rows(int lo, int hi, const uint8_t** top, const uint8_t** bottom) = 0;
};

// TF-slim's central_fraction for evaluation (lib/core/image-resize.ts CENTER_CROP_FRACTION).
constexpr double kCenterCropFraction = 0.875;
struct CropBox {
  int top, left, height, width;
};
// The 'center-crop' mode's box of a height × width image, as lib/core/image-resize.ts centralCropBox.
CropBox central_crop(int height, int width);

// Returns an empty string on success, else what is wrong with the job (nothing is written then).
const char* check_resize_job(const ResizeJob& job);
// Precondition: check_resize_job(job) is empty.
void resize_bilinear(const ResizeJob& job);
// The same with the source rows read through `rows` (job.src unused).
void resize_bilinear_rows(const ResizeJob& job, RowSource& rows);

}  // namespace mobilenet
