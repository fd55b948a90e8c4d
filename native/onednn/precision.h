// The numeric mode of a backend and what this CPU offers for it (oneDNN's ISA dispatch).
#pragma once
#include <string>

namespace mobilenet {

enum class Precision { FP32, BF16, INT8 };

// Parses "fp32" | "bf16" | "int8"; throws std::invalid_argument otherwise.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision p);

// The ISA oneDNN dispatches to on this CPU, by name ("avx2", "avx512_core_vnni", ...).
std::string effective_isa_name();
// Empty when `p` runs on JIT kernels on this CPU; otherwise why not (names the missing instructions).
// oneDNN 2.6 runs bf16 convolutions only with AVX-512 (native on avx512_core_bf16, emulated on
// avx512_core); on an AVX2 CPU it has no bf16 convolution at all (creating one fails).
// int8 has JIT kernels down to AVX2 (vpmaddubsw); VNNI makes them faster and exact (no s16 saturation).
std::string precision_unsupported_reason(Precision p);
// True where oneDNN's int8 convolutions sum u8·s8 products pairwise in saturating 16-bit lanes
// (vpmaddubsw: AVX2 or AVX-512 without VNNI). 255·127·2 exceeds 32767; 127·127·2 does not.
bool int8_pairs_saturate();

// A note for the user when `p` runs but on a slower path (e.g. int8 without VNNI); else empty.
std::string precision_note(Precision p);

}  // namespace mobilenet
