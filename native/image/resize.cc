#include "resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mobilenet {

namespace {

// The float32 tables of lib/core/image-resize.ts (TFJS_LUT, UNIT_LUT): the product is rounded to float, then the offset.
struct Tables {
  float tfjs[256], unit[256];
  Tables() {
    const float k2 = float(2.0 / 255.0), k1 = float(1.0 / 255.0);  // Math.fround(2 / 255), as in JS
    for (int x = 0; x < 256; ++x) {
      tfjs[x] = float(x) * k2 - 1.0f;
      unit[x] = float(x) * k1;
    }
  }
};
const Tables kTables;

struct Axis {
  std::vector<int> lo, hi;  // source indices (already offset by the crop, in elements for columns)
  std::vector<double> frac;
};

// TF's sampling: src = dst · scale, scale = (in − 1)/(out − 1) with align_corners, else in/out.
Axis axis(int in, int out, int start, bool align_corners, int stride) {
  const bool align = align_corners && out > 1;
  const double scale = double(align ? in - 1 : in) / double(align ? out - 1 : out);
  Axis a;
  a.lo.resize(out);
  a.hi.resize(out);
  a.frac.resize(out);
  for (int i = 0; i < out; ++i) {
    const double f = scale * i;
    const int lo = std::max(0, int(std::floor(f)));
    const int hi = std::min(in - 1, int(std::ceil(f)));
    a.frac[i] = f - lo;
    a.lo[i] = (start + lo) * stride;
    a.hi[i] = (start + hi) * stride;
  }
  return a;
}

}  // namespace

const char* check_resize_job(const ResizeJob& j) {
  if (!j.src || !j.out) return "null buffer";
  if (j.channels != 1 && j.channels != 3 && j.channels != 4) return "channels must be 1, 3 or 4";
  if (j.src_height < 1 || j.src_width < 1 || j.out_height < 1 || j.out_width < 1) return "sizes must be positive";
  if (j.crop_top < 0 || j.crop_left < 0 || j.crop_height < 1 || j.crop_width < 1 ||
      j.crop_top + j.crop_height > j.src_height || j.crop_left + j.crop_width > j.src_width)
    return "crop box out of range";
  return "";
}

// The resize reading its source rows through `rows` (in order: each output row asks for rows at or
// after the previous one's), so that a decoder can stream them in (native/image/jpeg.cc).
void resize_bilinear_rows(const ResizeJob& j, RowSource& rows_of) {
  const bool tfjs = j.normalise == Normalise::Tfjs;
  const float* lut = tfjs ? kTables.tfjs : kTables.unit;
  const Axis rows = axis(j.crop_height, j.out_height, j.crop_top, tfjs, 1);
  const Axis cols = axis(j.crop_width, j.out_width, j.crop_left, tfjs, j.channels);
  // Grey is replicated to RGB and alpha is dropped, as lib/core/image.ts rawToRgb does before resizing.
  const int step[3] = {0, j.channels == 1 ? 0 : 1, j.channels == 1 ? 0 : 2};
  float* o = j.out;
  for (int r = 0; r < j.out_height; ++r) {
    const uint8_t *top = nullptr, *bottom = nullptr;
    rows_of.rows(rows.lo[r], rows.hi[r], &top, &bottom);
    const double rf = rows.frac[r];
    for (int c = 0; c < j.out_width; ++c) {
      const int left = cols.lo[c], right = cols.hi[c];
      const double cf = cols.frac[c];
      for (int d = 0; d < 3; ++d) {
        const double tl = lut[top[left + step[d]]], tr = lut[top[right + step[d]]];
        const double bl = lut[bottom[left + step[d]]], br = lut[bottom[right + step[d]]];
        const double t = tl + (tr - tl) * cf;
        const double b = bl + (br - bl) * cf;
        float v = float(t + (b - t) * rf);
        if (!tfjs) v = (v - 0.5f) * 2.0f;
        *o++ = v;
      }
    }
  }
}

void resize_bilinear(const ResizeJob& j) {
  struct Whole : RowSource {
    const uint8_t* src;
    size_t stride;
    void rows(int lo, int hi, const uint8_t** top, const uint8_t** bottom) override {
      *top = src + size_t(lo) * stride;
      *bottom = src + size_t(hi) * stride;
    }
  } whole;
  whole.src = j.src;
  whole.stride = size_t(j.src_width) * j.channels;
  resize_bilinear_rows(j, whole);
}

CropBox central_crop(int height, int width) {
  // lib/core/image-resize.ts centralCropBox, in the same double arithmetic.
  const int top = int(std::trunc((height - height * kCenterCropFraction) / 2));
  const int left = int(std::trunc((width - width * kCenterCropFraction) / 2));
  return {top, left, height - 2 * top, width - 2 * left};
}

}  // namespace mobilenet
