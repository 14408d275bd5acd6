// libtorch's own speed for the 2048x2048 float32 matrix product, the reference for MatMulBenchmarks
// (the managed binding should be within a few percent of this). Threads as the binding sets them:
// ATTRIBUTION_NUM_THREADS, else libtorch's default. (GEMM itself runs on OpenBLAS's threads either way.)
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <vector>

int main() {
  if (const char* configured = std::getenv("ATTRIBUTION_NUM_THREADS")) at::set_num_threads(std::max(1, std::atoi(configured)));
  const int64_t n = 2048;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  auto a = at::randn({n, n}, gen);
  auto b = at::randn({n, n}, gen);
  for (int i = 0; i < 3; ++i) at::matmul(a, b);
  std::vector<double> times;
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto c = at::matmul(a, b);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  double mean = 0;
  for (double t : times) mean += t / times.size();
  const double flop = 2.0 * n * n * n;
  std::cout << "libtorch " << at::get_num_threads() << " threads, matmul 2048x2048 float32: mean " << mean * 1e3
            << " ms (" << flop / mean / 1e9 << " GFLOP/s), median " << times[times.size() / 2] * 1e3 << " ms ("
            << flop / times[times.size() / 2] / 1e9 << " GFLOP/s)" << std::endl;
}
