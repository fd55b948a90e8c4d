// The fast path of the decode + resize stage: a baseline JPEG decoded by libjpeg(-turbo) and streamed
// into the bilinear resize (resize.h), one libuv job per image, straight into the caller's float
// buffer. The decoded image is never held whole: only the two source rows an output row reads.
//
// It gives the pixels sharp gives for the same bytes (libvips decodes with libjpeg too, with the
// same defaults; test/jpeg-stage.test.ts compares them on every sample photo), and it takes only
// the images where that holds: a baseline or extended-sequential JPEG in YCbCr or grey, with no ICC
// profile to convert (the standard sRGB profile is taken as sRGB: sharp's lcms round trip through it
// can move a saturated colour by one level) and no EXIF orientation to apply. Everything else, and any libjpeg warning or
// error, is handed back to the general path (sharp), which then decodes it or says what is wrong.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "resize.h"

namespace mobilenet {

struct JpegJob {
  const uint8_t* data;
  size_t size;
  // libjpeg's DCT scaling 1/shrink (1, 2, 4 or 8); the image is then floor(W/s) × floor(H/s), as
  // libvips' load option [shrink=s] makes it.
  int shrink;
  uint64_t max_pixels;  // of the full-size image; more is handed back (sharp refuses it by name)
  int out_height, out_width;
  Normalise normalise;  // Tfjs: the whole image; CenterCrop: central_crop() of it
  float* out;           // out_height × out_width × 3 floats
};

// "" when out holds the image; otherwise why the image takes the general path (out is then partly written).
std::string decode_jpeg_into(const JpegJob& job);

}  // namespace mobilenet
