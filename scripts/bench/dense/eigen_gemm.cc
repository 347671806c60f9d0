// Dense-layer GEMM rate of Eigen alone, to compare with TensorFlow's kernels (tf_gemm.py) before
// writing a dense op of our own: y[M, N] = x[M, K] W[K, N] + b, row-major, 1 thread.
// TensorFlow's own Eigen is built without FMA; building this with and without -mfma shows what a
// kernel in our op library, compiled with FMA, could reach. 12 distinct weights per shape (like 12
// layers, so the weights come from L3 and memory as in a model); prints CPU ms per layer, the
// median over ROUNDS runs of the 12.
//
//   INC=~/.cache/tfjs-turbo/op-headers/tensorflow-cpu-2.12.0/tensorflow/include
//   g++ -O3 -std=c++17 -DNDEBUG -DEIGEN_MAX_ALIGN_BYTES=64 -mavx2 -mfma -I$INC eigen_gemm.cc -o gemm_fma
//   g++ -O3 -std=c++17 -DNDEBUG -DEIGEN_MAX_ALIGN_BYTES=64 -mavx -I$INC eigen_gemm.cc -o gemm_avx
//   ./gemm_fma 10
#include <Eigen/Core>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

static double cpuMs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  // ViT-B batch 1 (197 rows), ViT-Tiny batch 1 (197) and batch 8 (1576): qkv, proj, fc1, fc2.
  const int shapes[][3] = {{197, 768, 2304},  {197, 768, 3072},  {197, 3072, 768}, {197, 768, 768},
                           {197, 192, 576},   {197, 192, 768},   {197, 768, 192},  {197, 192, 192},
                           {1576, 192, 576},  {1576, 192, 768},  {1576, 768, 192}};
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 10;
  const int layers = 12, warmup = 3;
  for (const auto& s : shapes) {
    const int M = s[0], K = s[1], N = s[2];
    RowMajor x = RowMajor::Random(M, K);
    std::vector<RowMajor> W(layers), y(layers);
    std::vector<Eigen::RowVectorXf> b(layers);
    for (int l = 0; l < layers; l++) {
      W[l] = RowMajor::Random(K, N);
      y[l].resize(M, N);
      b[l] = Eigen::RowVectorXf::Random(N);
    }
    std::vector<double> ms;
    for (int r = 0; r < rounds + warmup; r++) {
      const double t0 = cpuMs();
      for (int l = 0; l < layers; l++) {
        y[l].noalias() = x * W[l];
        y[l].rowwise() += b[l];
      }
      if (r >= warmup) ms.push_back((cpuMs() - t0) / layers);
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    std::printf("%dx%dx%d eigen %.2f ms (%.1f GF/s)\n", M, K, N, med, 2.0 * M * K * N / med / 1e6);
  }
  return 0;
}
