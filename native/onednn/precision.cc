#include "precision.h"

#include <stdexcept>

#include <dnnl.hpp>

namespace mobilenet {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  if (name == "int8") return Precision::INT8;
  throw std::invalid_argument("precision must be 'fp32', 'bf16' or 'int8', got '" + name + "'");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::BF16: return "bf16";
    case Precision::INT8: return "int8";
    default: return "fp32";
  }
}

std::string effective_isa_name() {
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::sse41: return "sse41";
    case isa::avx: return "avx";
    case isa::avx2: return "avx2";
    case isa::avx2_vnni: return "avx2_vnni";
    case isa::avx512_mic: return "avx512_mic";
    case isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case isa::avx512_core: return "avx512_core";
    case isa::avx512_core_vnni: return "avx512_core_vnni";
    case isa::avx512_core_bf16: return "avx512_core_bf16";
    case isa::avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
  }
}

namespace {
int isa_rank() {
  // dnnl_cpu_isa_t values are bit sets that grow with the ISA; compare by the named levels we need.
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::avx512_core_amx: return 5;
    case isa::avx512_core_bf16: return 4;
    case isa::avx512_core_vnni: return 3;
    case isa::avx512_core: return 2;
    case isa::avx2:
    case isa::avx2_vnni: return 1;
    default: return 0;
  }
}
}  // namespace

std::string precision_unsupported_reason(Precision p) {
  const int rank = isa_rank();
  if (p == Precision::BF16 && rank < 2)
    return "bf16 needs AVX-512 (avx512_core; native bf16 needs avx512_bf16): oneDNN 2.6 has no bf16 "
           "convolution for CPUs without it (creating one fails). This CPU offers " +
           effective_isa_name() + "; use precision 'int8' or 'fp32'";
  if (p == Precision::INT8 && rank < 1)
    return "int8 needs AVX2 for oneDNN's int8 JIT convolutions; this CPU offers " + effective_isa_name();
  return "";
}

bool int8_pairs_saturate() {
  return isa_rank() < 3 && dnnl::get_effective_cpu_isa() != dnnl::cpu_isa::avx2_vnni;
}

std::string precision_note(Precision p) {
  const int rank = isa_rank();
  if (p == Precision::BF16 && rank < 4)
    return "this CPU (" + effective_isa_name() + ") lacks avx512_bf16: bf16 dot products are emulated";
  if (p == Precision::INT8 && int8_pairs_saturate())
    return "this CPU (" + effective_isa_name() +
           ") lacks VNNI: int8 runs on vpmaddubsw kernels, whose 16-bit pair sums can saturate (a documented oneDNN "
           "limit), so accuracy is lower than with VNNI";
  return "";
}

}  // namespace mobilenet
