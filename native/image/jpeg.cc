#include "jpeg.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include <jpeglib.h>

// IJG libjpeg 7+ upsamples chroma with scaled IDCTs, so its pixels would not be sharp's (mozjpeg,
// libjpeg-turbo's decoder); jconfig.h defines this for libjpeg-turbo only.
#ifndef LIBJPEG_TURBO_VERSION
#error "mobilenet-native's JPEG stage needs libjpeg-turbo (Debian: libjpeg62-turbo-dev), not IJG libjpeg"
#endif

namespace mobilenet {

namespace {

// libjpeg reports errors and warnings through these; both end the fast path (sharp, with
// failOn 'warning', refuses an image libjpeg warns about, so the general path must decide).
struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr c) {
  auto* e = reinterpret_cast<ErrorManager*>(c->err);
  c->err->format_message(c, e->message);
  std::longjmp(e->jump, 1);
}

void on_message(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  on_error(c);             // a warning: corrupt data
}

// What libjpeg said, or that it stopped without saying why.
std::string libjpeg_failure(const ErrorManager& e) {
  return e.message[0] ? std::string("libjpeg: ") + e.message : "libjpeg: stopped early";
}

// Each libjpeg call runs in its own frame holding only plain data, so a longjmp out of libjpeg never
// skips a C++ destructor. They return false after an error or warning (message in the manager).
bool create(jpeg_decompress_struct* c, ErrorManager* e) {
  if (setjmp(e->jump)) return false;
  jpeg_create_decompress(c);
  return true;
}

bool read_header(jpeg_decompress_struct* c, ErrorManager* e, const uint8_t* data, size_t size) {
  if (setjmp(e->jump)) return false;
  jpeg_mem_src(c, data, static_cast<unsigned long>(size));
  jpeg_save_markers(c, JPEG_APP0 + 1, 0xffff);  // EXIF
  jpeg_save_markers(c, JPEG_APP0 + 2, 0xffff);  // ICC profile
  return jpeg_read_header(c, TRUE) == JPEG_HEADER_OK;
}

bool start(jpeg_decompress_struct* c, ErrorManager* e) {
  if (setjmp(e->jump)) return false;
  return jpeg_start_decompress(c) == TRUE;
}

bool read_row(jpeg_decompress_struct* c, ErrorManager* e, uint8_t* row) {
  if (setjmp(e->jump)) return false;
  JSAMPROW rows[1] = {row};
  return jpeg_read_scanlines(c, rows, 1) == 1;
}

bool finish(jpeg_decompress_struct* c, ErrorManager* e) {
  if (setjmp(e->jump)) return false;
  return jpeg_finish_decompress(c) == TRUE;
}

// The EXIF orientation tag (1 = as stored, also when there is none); 0 when the block cannot be read.
int exif_orientation(const uint8_t* p, size_t n) {
  if (n < 6 || std::memcmp(p, "Exif\0\0", 6) != 0) return 1;  // another APP1 (XMP): no orientation
  p += 6, n -= 6;
  if (n < 8 || !((p[0] == 'I' && p[1] == 'I') || (p[0] == 'M' && p[1] == 'M'))) return 0;
  const bool le = p[0] == 'I';
  auto u16 = [&](size_t o) { return le ? unsigned(p[o] | p[o + 1] << 8) : unsigned(p[o] << 8 | p[o + 1]); };
  auto u32 = [&](size_t o) { return le ? (uint32_t(u16(o + 2)) << 16 | u16(o)) : (uint32_t(u16(o)) << 16 | u16(o + 2)); };
  if (u16(2) != 42) return 0;
  const size_t ifd = u32(4);
  if (ifd > n || n - ifd < 2) return 0;
  const size_t count = u16(ifd);
  if ((n - ifd - 2) / 12 < count) return 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t entry = ifd + 2 + 12 * i;
    if (u16(entry) != 0x0112) continue;
    return u16(entry + 2) == 3 ? int(u16(entry + 8)) : 0;  // SHORT, value in place
  }
  return 1;
}

// Whether an APP2 ICC_PROFILE marker holds, whole, the standard sRGB IEC61966-2.1 profile (HP's
// 3144-byte v2 profile, as cameras and editors embed it), whatever its header's rendering intent
// (bytes 64–67, which a matrix-shaper profile does not use): the pixels are then sRGB already.
bool is_standard_srgb(const jpeg_saved_marker_ptr m) {
  constexpr size_t kSignature = 14, kProfile = 3144;  // "ICC_PROFILE\0", sequence number, count
  if (m->data_length != kSignature + kProfile || m->data[12] != 1 || m->data[13] != 1) return false;
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, 64 bits
  for (size_t i = 0; i < kProfile; ++i) {
    h ^= (i >= 64 && i < 68) ? 0 : m->data[kSignature + i];
    h *= 0x100000001b3ull;
  }
  return h == 0x56d2cbfca6b54318ull;
}

// Why the decoded pixels would differ from sharp's (which applies these), or "".
const char* needs_general_path(const jpeg_decompress_struct& c) {
  if (c.progressive_mode) return "progressive JPEG";  // also: its decoding time is not bounded by its size
  if (!((c.jpeg_color_space == JCS_YCbCr && c.num_components == 3) || (c.jpeg_color_space == JCS_GRAYSCALE && c.num_components == 1)))
    return "not a YCbCr or grey JPEG";
  for (jpeg_saved_marker_ptr m = c.marker_list; m; m = m->next) {
    // libvips takes any APP2 that starts with these 11 bytes as a profile chunk (byte 11 unread).
    if (m->marker == JPEG_APP0 + 2 && m->data_length >= 11 && std::memcmp(m->data, "ICC_PROFILE", 11) == 0 && !is_standard_srgb(m))
      return "ICC profile";
    if (m->marker == JPEG_APP0 + 1 && exif_orientation(m->data, m->data_length) != 1) return "EXIF orientation";
  }
  return "";
}

// Scanlines decoded in order into a ring of two rows: all the resize ever holds of the image.
class ScanlineRows : public RowSource {
 public:
  ScanlineRows(jpeg_decompress_struct* c, ErrorManager* e, size_t row_bytes) : c_(c), e_(e), ring_(2 * row_bytes), row_bytes_(row_bytes) {}
  void rows(int lo, int hi, const uint8_t** top, const uint8_t** bottom) override {
    while (ok_ && next_ <= hi) {
      ok_ = read_row(c_, e_, ring_.data() + size_t(next_ % 2) * row_bytes_);
      ++next_;
    }
    if (lo < next_ - 2) ok_ = false;  // out of order: cannot happen with resize.cc's axes
    *top = ring_.data() + size_t(lo % 2) * row_bytes_;
    *bottom = ring_.data() + size_t(hi % 2) * row_bytes_;
  }
  // Reads the rows the resize did not need, so that damage anywhere in the data is seen.
  bool drain() {
    while (ok_ && c_->output_scanline < c_->output_height) ok_ = read_row(c_, e_, ring_.data());
    return ok_;
  }
  bool ok() const { return ok_; }

 private:
  jpeg_decompress_struct* c_;
  ErrorManager* e_;
  std::vector<uint8_t> ring_;
  size_t row_bytes_;
  int next_ = 0;
  bool ok_ = true;
};

std::string decode(jpeg_decompress_struct* c, ErrorManager* e, const JpegJob& job) {
  if (!read_header(c, e, job.data, job.size)) return libjpeg_failure(*e);
  if (const char* why = needs_general_path(*c); *why) return why;
  if (uint64_t(c->image_width) * c->image_height > job.max_pixels) return "over maxPixels";
  const int width = int(c->image_width) / job.shrink, height = int(c->image_height) / job.shrink;
  if (width < 1 || height < 1) return "smaller than the shrink";
  c->out_color_space = JCS_RGB;
  c->scale_num = 1;
  c->scale_denom = unsigned(job.shrink);
  if (!start(c, e)) return libjpeg_failure(*e);
  if (int(c->output_width) < width || int(c->output_height) < height || c->output_components != 3) return "unexpected output size";

  ResizeJob r{};
  r.src_height = height, r.src_width = width, r.channels = 3;
  const CropBox box = job.normalise == Normalise::CenterCrop ? central_crop(height, width) : CropBox{0, 0, height, width};
  r.crop_top = box.top, r.crop_left = box.left, r.crop_height = box.height, r.crop_width = box.width;
  r.out_height = job.out_height, r.out_width = job.out_width, r.normalise = job.normalise, r.out = job.out;
  r.src = job.data;  // only for check_resize_job's null test: rows come from the decoder
  if (const char* why = check_resize_job(r); *why) return why;
  ScanlineRows rows(c, e, size_t(c->output_width) * 3);
  resize_bilinear_rows(r, rows);
  if (!rows.ok() || !rows.drain() || !finish(c, e)) return libjpeg_failure(*e);
  return "";
}

// One libjpeg decompressor, destroyed with its owner.
struct Decompressor {
  jpeg_decompress_struct c;
  ErrorManager e;
  bool created = false;
  Decompressor() {
    e.message[0] = '\0';
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    e.pub.emit_message = on_message;
    created = create(&c, &e);
  }
  ~Decompressor() {
    if (created) jpeg_destroy_decompress(&c);
  }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
};

}  // namespace

std::string decode_jpeg_into(const JpegJob& job) {
  if (!job.data || !job.out || job.size == 0) return "no data";
  if (job.shrink != 1 && job.shrink != 2 && job.shrink != 4 && job.shrink != 8) return "shrink must be 1, 2, 4 or 8";
  try {
    Decompressor d;
    if (!d.created) return libjpeg_failure(d.e);
    return decode(&d.c, &d.e, job);
  } catch (const std::exception& x) {  // bad_alloc from the ring
    return x.what();
  }
}

}  // namespace mobilenet
