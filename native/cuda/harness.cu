// Standalone check of the CUDA TurboMerge (turbo_merge.cu) on the official merge cases
// (merge_cases.txt, written by scripts/export-merge-cases.ts), with nothing but nvcc:
//   - against the official outputs: x within 1e-5, sizes exact;
//   - against the C++ reference (merge_core.h, the CPU kernel's code): assignment, x and sizes
//     identical to the bit;
//   - on random ViT-B-sized inputs (B = 8, N = 197, C = 768, d = 64, r = 16, prior sizes), bit
//     identity with the reference again, and the device time per call.
// Prints PASS/FAIL per case with the max abs diff; exits 1 on any failure.
// Built as C++ (run_harness.sh --cpu) the kernels' bodies run on the host: same checks, no GPU.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cuda/turbo_merge.h"
#include "turbo/merge_core.h"

namespace {

#ifdef __CUDACC__
#define CHECK_CUDA(call)                                                                            \
  do {                                                                                              \
    cudaError_t e_ = (call);                                                                        \
    if (e_ != cudaSuccess) {                                                                        \
      std::fprintf(stderr, "CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
      std::exit(2);                                                                                 \
    }                                                                                               \
  } while (0)
void* DeviceAlloc(size_t bytes) { void* p = nullptr; CHECK_CUDA(cudaMalloc(&p, bytes ? bytes : 1)); return p; }
void DeviceFree(void* p) { CHECK_CUDA(cudaFree(p)); }
void ToDevice(void* dst, const void* src, size_t bytes) { CHECK_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice)); }
void ToHost(void* dst, const void* src, size_t bytes) { CHECK_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost)); }
void Sync() { CHECK_CUDA(cudaDeviceSynchronize()); }
const char* kMode = "cuda";
#else
void* DeviceAlloc(size_t bytes) { return std::calloc(bytes ? bytes : 1, 1); }
void DeviceFree(void* p) { std::free(p); }
void ToDevice(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void ToHost(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void Sync() {}
const char* kMode = "cpu-emulation";
#endif

struct Case {
  int64_t B, N, C, d, r, layer, p, threshold;
  double alpha, beta, gamma;
  bool has_size;
  std::vector<float> x, metric, cls, size;
  int64_t n_out = -1;  // -1: no expected output (random case)
  std::vector<double> expected_x, expected_size;
};

struct Output {
  std::vector<float> x, size;
  std::vector<int32_t> dest;
  int64_t n_out;
};

template <typename T>
void ReadN(std::istream& in, size_t n, std::vector<T>* v) {
  v->resize(n);
  for (auto& e : *v) in >> e;
}

std::vector<Case> ReadCases(const char* file) {
  std::ifstream in(file);
  std::string magic;
  int version = 0, count = 0;
  if (!(in >> magic >> version >> count) || magic != "turbo-merge-cases" || version != 1) {
    std::fprintf(stderr, "%s: not a turbo-merge-cases v1 file\n", file);
    std::exit(2);
  }
  std::vector<Case> cases(count);
  for (Case& c : cases) {
    int has_size = 0;
    in >> c.B >> c.N >> c.C >> c.d >> c.r >> c.alpha >> c.beta >> c.gamma >> c.layer >> c.p >> c.threshold >> has_size;
    c.has_size = has_size != 0;
    ReadN(in, c.B * c.N * c.C, &c.x);
    ReadN(in, c.B * c.N * c.d, &c.metric);
    ReadN(in, c.B * c.N, &c.cls);
    if (c.has_size) ReadN(in, c.B * c.N, &c.size);
    in >> c.n_out;
    ReadN(in, c.B * c.n_out * c.C, &c.expected_x);
    ReadN(in, c.B * c.n_out, &c.expected_size);
  }
  if (!in) {
    std::fprintf(stderr, "%s: truncated\n", file);
    std::exit(2);
  }
  return cases;
}

// The attrs as the TF op sees them: float alpha/beta/gamma, int layer.
double Weight(const Case& c) {
  return turbo::MergeWeight(static_cast<float>(c.alpha), static_cast<float>(c.beta), static_cast<float>(c.gamma),
                            static_cast<double>(c.layer));
}

Output Reference(const Case& c) {
  Output o;
  const int64_t r = turbo::EffectiveR(c.r, c.N, c.p, c.threshold);
  o.dest.resize(c.B * c.N);
  o.n_out = turbo::BipartiteMatch(c.metric.data(), c.cls.data(), c.B, c.N, c.d, {r, Weight(c), c.p}, o.dest.data());
  o.x.resize(c.B * o.n_out * c.C);
  o.size.resize(c.B * o.n_out);
  turbo::MergeWeighted(c.x.data(), c.has_size ? c.size.data() : nullptr, o.dest.data(), c.B, c.N, o.n_out, c.C, o.x.data(),
                       o.size.data());
  return o;
}

// Runs the device path `repeats` times (the last result is returned); *seconds: mean per call.
Output Device(const Case& c, int repeats, double* seconds) {
  const int64_t r = turbo::EffectiveR(c.r, c.N, c.p, c.threshold), n_out = c.N - r;
  auto upload = [](const std::vector<float>& v) {
    void* p = DeviceAlloc(v.size() * 4);
    ToDevice(p, v.data(), v.size() * 4);
    return static_cast<float*>(p);
  };
  float *x = upload(c.x), *metric = upload(c.metric), *cls = upload(c.cls), *size = c.has_size ? upload(c.size) : nullptr;
  auto* x_out = static_cast<float*>(DeviceAlloc(c.B * n_out * c.C * 4));
  auto* size_out = static_cast<float*>(DeviceAlloc(c.B * n_out * 4));
  auto* dest = static_cast<int32_t*>(DeviceAlloc(c.B * c.N * 4));
  void* scratch = DeviceAlloc(turbo::gpu::ScratchBytes(c.B, c.N, c.d, r, c.p));
  const turbo::gpu::MergeArgs args{x, metric, cls, size, c.B, c.N, c.C, c.d, r, c.p, Weight(c), x_out, size_out, dest};
  auto launch = [&] {
    if (turbo::gpu::LaunchTurboMerge(args, scratch, turbo::gpu::Stream()) != turbo::gpu::Status()) {
      std::fprintf(stderr, "LaunchTurboMerge failed\n");
      std::exit(2);
    }
  };
  launch();  // warm-up (first launch loads the module)
  Sync();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) launch();
  Sync();
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
  Output o;
  o.n_out = n_out;
  o.x.resize(c.B * n_out * c.C);
  o.size.resize(c.B * n_out);
  o.dest.resize(c.B * c.N);
  ToHost(o.x.data(), x_out, o.x.size() * 4);
  ToHost(o.size.data(), size_out, o.size.size() * 4);
  ToHost(o.dest.data(), dest, o.dest.size() * 4);
  for (void* p : {static_cast<void*>(x), static_cast<void*>(metric), static_cast<void*>(cls), static_cast<void*>(size),
                  static_cast<void*>(x_out), static_cast<void*>(size_out), static_cast<void*>(dest), scratch})
    if (p) DeviceFree(p);
  return o;
}

template <typename A, typename B>
double MaxAbsDiff(const std::vector<A>& a, const std::vector<B>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::fmax(m, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return m;
}

bool BitEqual(const Output& a, const Output& b) {
  return a.n_out == b.n_out && a.dest == b.dest && a.x.size() == b.x.size() &&
         std::memcmp(a.x.data(), b.x.data(), a.x.size() * 4) == 0 && std::memcmp(a.size.data(), b.size.data(), a.size.size() * 4) == 0;
}

Case RandomVitB() {
  Case c{8, 197, 768, 64, 16, 2, 1, 0, 5.0, 1.0, 0.0, true, {}, {}, {}, {}};
  std::mt19937 gen(1234);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_int_distribution<int> sizes(1, 4);
  for (int64_t i = 0; i < c.B * c.N * c.C; ++i) c.x.push_back(normal(gen));
  for (int64_t i = 0; i < c.B * c.N * c.d; ++i) c.metric.push_back(normal(gen));
  for (int64_t i = 0; i < c.B * c.N; ++i) c.cls.push_back(std::fabs(normal(gen)) / c.N);
  for (int64_t i = 0; i < c.B * c.N; ++i) c.size.push_back(static_cast<float>(sizes(gen)));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const char* file = argc > 1 ? argv[1] : "native/cuda/merge_cases.txt";
  const std::vector<Case> cases = ReadCases(file);
  std::printf("TurboMerge harness (%s): %zu official merge cases from %s\n", kMode, cases.size(), file);
  int failures = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    double t;
    const Output dev = Device(c, 1, &t), ref = Reference(c);
    const double dx = dev.n_out == c.n_out ? MaxAbsDiff(dev.x, c.expected_x) : INFINITY;
    const double ds = dev.n_out == c.n_out ? MaxAbsDiff(dev.size, c.expected_size) : INFINITY;
    const bool same = BitEqual(dev, ref);
    const bool pass = dx <= 1e-5 && ds == 0 && same;
    failures += pass ? 0 : 1;
    std::printf("%s case %2zu  B=%lld N=%3lld C=%2lld r=%2lld alpha=%g%s  max|x - official| = %.3g  sizes %s  vs C++ reference: %s\n",
                pass ? "PASS" : "FAIL", i, (long long)c.B, (long long)c.N, (long long)c.C, (long long)c.r, c.alpha,
                c.has_size ? " sized" : "", dx, ds == 0 ? "exact" : "DIFFER", same ? "bit-identical" : "DIFFERENT");
  }
  {
    const Case c = RandomVitB();
    double seconds;
    const Output dev = Device(c, 100, &seconds), ref = Reference(c);
    const bool same = BitEqual(dev, ref);
    failures += same ? 0 : 1;
    std::printf("%s random ViT-B size  B=8 N=197 C=768 d=64 r=16 sized  vs C++ reference: %s (max|dx| = %.3g)  %.1f us per call (%s)\n",
                same ? "PASS" : "FAIL", same ? "bit-identical" : "DIFFERENT", MaxAbsDiff(dev.x, ref.x), seconds * 1e6, kMode);
  }
  std::printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
