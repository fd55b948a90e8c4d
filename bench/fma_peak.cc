// The CPU's FP32 issue limit for the benchmark's "% of peak": every thread runs independent chains of
// fused multiply-adds on the widest vector ISA the CPU has (AVX-512, else AVX2+FMA), enough chains to
// hide the FMA latency on every FMA port. Each thread's rate is its FLOPs over its own CPU time, so
// other processes on a shared machine lower the figure only through clocks, not through lost time
// slices; the peak is the sum over threads. Prints one JSON line; sgemm_peak.cc is the practical figure.
#include <immintrin.h>
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int kChains = 16;  // ≥ latency (4) × FMA ports (2), with room for 4-cycle-latency-2-port cores

// Returns a value that depends on every chain, so the compiler keeps all the FMAs.
__attribute__((target("avx512f"))) float run_avx512(long iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.f + i * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  float lanes[16];
  _mm512_storeu_ps(lanes, s);
  float t = 0;
  for (float x : lanes) t += x;
  return t;
}

__attribute__((target("avx2,fma"))) float run_avx2(long iters) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(1.f + i * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  float t = 0;
  for (float x : lanes) t += x;
  return t;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  const double budget_s = argc > 1 ? std::atof(argv[1]) : 1.0;
  const bool avx512 = __builtin_cpu_supports("avx512f") && !(argc > 2 && std::strcmp(argv[2], "avx2") == 0);
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
    std::printf("{\"gflops\": 0, \"isa\": \"none\", \"threads\": %d}\n", omp_get_max_threads());
    return 0;
  }
  const int lanes = avx512 ? 16 : 8;
  const long iters = 2'000'000;
  double best = 0;
  volatile float sink = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int rep = 0; rep < 20; ++rep) {
    double gflops = 0;
#pragma omp parallel reduction(+ : gflops)
    {
      const double t0 = thread_cpu_seconds();
      const float r = avx512 ? run_avx512(iters) : run_avx2(iters);
      gflops += 2.0 * kChains * lanes * double(iters) / (thread_cpu_seconds() - t0) / 1e9;
#pragma omp critical
      sink = sink + r;
    }
    if (rep > 0) best = std::max(best, gflops);  // rep 0 wakes the thread team and the clocks
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > budget_s && rep > 1) break;
  }
  std::printf("{\"gflops\": %.2f, \"isa\": \"%s\", \"threads\": %d}\n", best, avx512 ? "avx512" : "avx2", omp_get_max_threads());
  return 0;
}
