// The machine's practical FP32 ceiling for the benchmark's "fraction of peak": oneDNN's own sgemm on
// square matrices large enough to be compute-bound, best of several runs, with the thread count the
// engines get (OMP_NUM_THREADS). Prints one JSON line.
#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  const double budget_s = argc > 1 ? std::atof(argv[1]) : 3.0;
  double best = 0;
  int best_n = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int n : {1024, 1536, 2048}) {
    std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.25f), c(size_t(n) * n, 0.f);
    for (int rep = 0; rep < 6; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      if (dnnl_sgemm('N', 'N', n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n) != dnnl_success) return 1;
      auto t1 = std::chrono::steady_clock::now();
      double s = std::chrono::duration<double>(t1 - t0).count();
      double gflops = 2.0 * n * n * double(n) / s / 1e9;
      if (rep > 0 && gflops > best) best = gflops, best_n = n;  // rep 0 warms caches and the thread team
      if (std::chrono::duration<double>(t1 - start).count() > budget_s) break;
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > budget_s) break;
  }
  std::printf("{\"gflops\": %.2f, \"n\": %d, \"threads\": %d}\n", best, best_n, omp_get_max_threads());
  return 0;
}
