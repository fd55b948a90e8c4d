#include "arena.h"

#include <new>
#include <sys/mman.h>

namespace mobilenet {

namespace {
// 2 MiB and more on transparent huge pages (the depthwise layers stream through whole arenas and
// otherwise miss the TLB; docs/engine-notes.md), 64-byte aligned below that. Freed with std::free.
void* allocate(size_t bytes, bool huge) {
  constexpr size_t kHuge = size_t(2) << 20;
  if (!huge || bytes < kHuge) return std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
  if (p) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: a refusal leaves ordinary pages
  return p;
}
}  // namespace

void Arena::grow(int slot, size_t bytes) {
  if (bytes <= bytes_[slot]) return;
  buffers_[slot].reset();  // before allocating the larger one: never both at once
  bytes_[slot] = 0;
  buffers_[slot].reset(allocate(bytes, huge_pages_));
  if (!buffers_[slot]) throw std::bad_alloc();
  bytes_[slot] = bytes;
  ++generation_;
}

}  // namespace mobilenet
