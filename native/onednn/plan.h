// A forward pass for one batch size: oneDNN primitives run in order, with their arguments.
#pragma once
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include <dnnl.hpp>

#include "arena.h"

namespace mobilenet {

struct Plan {
  int batch = 0;
  std::vector<dnnl::primitive> prims;
  std::vector<std::unordered_map<int, dnnl::memory>> args;
  std::vector<size_t> layer_of;  // per primitive: the layer it belongs to (profile)
  dnnl::memory input;       // user NHWC, handle set per run
  dnnl::memory embedding;   // pooled features, nc
  dnnl::memory logits;      // nc
  dnnl::memory probs;       // nc
  dnnl::memory scratchpad;  // shared by every primitive: they run one after another
  // Memories that point into the Arena: re-pointed when a larger plan has moved its buffers.
  std::vector<std::pair<dnnl::memory, int>> arena_mems;
  uint64_t arena_generation = 0;
  size_t softmax_step = 0;
  // The reorder from the caller's NHWC rows into the first conv's layout, when it is step 0:
  // forward_rows() replaces it with one reorder per Rows, writing at their place in the batch.
  bool input_reorder = false;
  dnnl::primitive_attr input_attr;
  dnnl::memory converted_input;      // step 0's destination
  size_t converted_image_bytes = 0;  // one image in that layout (the batch is the outermost dimension)
  std::unordered_map<int, dnnl::reorder> rows_reorders;  // by Rows::count
  struct Tap {
    size_t step, conv_index;
    dnnl::memory dst;
  };
  std::vector<Tap> conv_outputs;  // calibration: conv outputs whose maxima are recorded after their step

  void repoint(const Arena& arena) {
    if (arena_generation == arena.generation()) return;
    for (auto& [mem, slot] : arena_mems) mem.set_data_handle(arena.data(slot));
    arena_generation = arena.generation();
  }
};

}  // namespace mobilenet
