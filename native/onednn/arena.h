// The backend's shared working memory: two activation arenas that layers alternate between (a
// layer's input is never its output) and one scratchpad, each sized for the largest batch planned.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace mobilenet {

class Arena {
 public:
  enum Slot { kActivationsA = 0, kActivationsB = 1, kScratch = 2, kSlots = 3 };
  explicit Arena(bool huge_pages) : huge_pages_(huge_pages) {}
  // Makes `slot` at least `bytes` long; moving a buffer bumps generation().
  void grow(int slot, size_t bytes);
  void* data(int slot) const { return buffers_[slot].get(); }
  size_t size(int slot) const { return bytes_[slot]; }
  uint64_t generation() const { return generation_; }

 private:
  bool huge_pages_;
  std::unique_ptr<void, void (*)(void*)> buffers_[kSlots] = {{nullptr, std::free}, {nullptr, std::free}, {nullptr, std::free}};
  size_t bytes_[kSlots] = {0, 0, 0};
  uint64_t generation_ = 0;
};

}  // namespace mobilenet
