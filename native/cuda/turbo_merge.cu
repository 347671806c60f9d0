// TurboMerge on a CUDA device, free of TensorFlow: the TF GPU kernel (native/ops/turbo_merge_gpu.cc)
// and the standalone harness (harness.cu) both call LaunchTurboMerge. Compiled by nvcc it runs
// real kernels; compiled as C++ (g++ -x c++) the same per-index bodies run in host loops, so the
// logic is testable without a GPU (run_harness.sh --cpu).
//
// The arithmetic is merge_core.h's (Dot4, UnitRow, RanksBefore; float64, TS summation order, no
// FMA), so the device output equals the CPU kernel's bit for bit. Phases, one launch each:
//   1. unit rows        (b, token)   metric rows scaled to unit length, float64
//   2. best match       (b, source)  argmax_j cos (first j wins), E = R - c * cls_attn
//   3. rank             (b, source)  position in the stable descending-E order (O(ns) per source)
//   4. destination      (b, token)   the output index of every token (dest / assignment output)
//   5. members          (b)          per output token, its input tokens in input order + size sums
//   6. merge            (b, out, k)  weighted average in float64, or a bit-exact copy
#include "cuda/turbo_merge.h"

#include <cstring>

namespace turbo {
namespace gpu {

namespace {

constexpr int kThreads = 128;

// Scratch views, carved from one buffer in ScratchBytes' order (doubles first: 8-byte aligned).
struct Scratch {
  double* unit;        // [B, n, d]
  double* score;       // [B, ns]
  double* size_sum;    // [B, n_out]
  int32_t* best;       // [B, ns]
  int32_t* rank;       // [B, ns]
  int32_t* start;      // [B, n_out + 1]
  int32_t* members;    // [B, n]
};

Scratch CarveScratch(const MergeArgs& a, void* buffer) {
  const int64_t ns = NumSources(a.n, a.protected_tokens), n_out = a.n - a.r;
  Scratch s;
  char* p = static_cast<char*>(buffer);
  auto take = [&](int64_t bytes) { char* q = p; p += (bytes + 7) / 8 * 8; return q; };
  s.unit = reinterpret_cast<double*>(take(a.batch * a.n * a.d * 8));
  s.score = reinterpret_cast<double*>(take(a.batch * ns * 8));
  s.size_sum = reinterpret_cast<double*>(take(a.batch * n_out * 8));
  s.best = reinterpret_cast<int32_t*>(take(a.batch * ns * 4));
  s.rank = reinterpret_cast<int32_t*>(take(a.batch * ns * 4));
  s.start = reinterpret_cast<int32_t*>(take(a.batch * (n_out + 1) * 4));
  s.members = reinterpret_cast<int32_t*>(take(a.batch * a.n * 4));
  return s;
}

struct UnitRows {
  MergeArgs a;
  Scratch s;
  TURBO_HD void operator()(int64_t b, int64_t t) const {
    UnitRow(a.metric + (b * a.n + t) * a.d, a.d, s.unit + (b * a.n + t) * a.d);
  }
};

struct BestMatch {
  MergeArgs a;
  Scratch s;
  TURBO_HD void operator()(int64_t b, int64_t src) const {
    const int64_t p = a.protected_tokens, ns = NumSources(a.n, p), nd = NumDests(a.n, p);
    const double* u = s.unit + (b * a.n + SourceToken(src, p)) * a.d;
    double best_cos = -static_cast<double>(INFINITY);
    int32_t best_j = 0;
    for (int64_t j = 0; j < nd; ++j) {
      const double cos = Dot4(u, s.unit + (b * a.n + DestToken(j, p)) * a.d, a.d);
      if (cos > best_cos) {
        best_cos = cos;
        best_j = static_cast<int32_t>(j);
      }
    }
    s.best[b * ns + src] = best_j;
    s.score[b * ns + src] = best_cos - TURBO_DMUL(a.c, static_cast<double>(a.cls_attn[b * a.n + SourceToken(src, p)]));
  }
};

struct Rank {
  MergeArgs a;
  Scratch s;
  TURBO_HD void operator()(int64_t b, int64_t src) const {
    const int64_t ns = NumSources(a.n, a.protected_tokens);
    const double* score = s.score + b * ns;
    int32_t rank = 0;
    for (int64_t o = 0; o < ns; ++o) rank += RanksBefore(score[o], o, score[src], src) ? 1 : 0;
    s.rank[b * ns + src] = rank;
  }
};

struct Destination {
  MergeArgs a;
  Scratch s;
  TURBO_HD void operator()(int64_t b, int64_t t) const {
    const int64_t p = a.protected_tokens, r = a.r, ns = NumSources(a.n, p);
    const int64_t dst_base = p + (ns - r);
    int32_t* dest = a.dest + b * a.n;
    if (r <= 0 || t < p) {
      dest[t] = static_cast<int32_t>(t);
    } else if ((t & 1) != 0) {
      dest[t] = static_cast<int32_t>(dst_base + (t - FirstDest(p)) / 2);
    } else {
      const int64_t src = (t - FirstSource(p)) / 2;
      const int32_t* rank = s.rank + b * ns;
      if (rank[src] < r) {
        dest[t] = static_cast<int32_t>(dst_base + s.best[b * ns + src]);
      } else if (p > 0) {
        // Unmerged sources keep their original order: count the unmerged ones before this one.
        int64_t pos = 0;
        for (int64_t o = 0; o < src; ++o) pos += rank[o] >= r ? 1 : 0;
        dest[t] = static_cast<int32_t>(p + pos);
      } else {
        dest[t] = static_cast<int32_t>(p + rank[src] - r);  // descending-E order
      }
    }
  }
};

// One thread per batch element: a counting sort of the tokens by destination (n is a few hundred).
struct Members {
  MergeArgs a;
  Scratch s;
  TURBO_HD void operator()(int64_t b, int64_t) const {
    const int64_t n_out = a.n - a.r;
    const int32_t* dest = a.dest + b * a.n;
    int32_t* start = s.start + b * (n_out + 1);
    int32_t* members = s.members + b * a.n;
    double* size_sum = s.size_sum + b * n_out;
    for (int64_t o = 0; o <= n_out; ++o) start[o] = 0;
    for (int64_t i = 0; i < a.n; ++i) start[dest[i] + 1]++;
    for (int64_t o = 0; o < n_out; ++o) start[o + 1] += start[o];
    // Fill in input order; start[o] serves as o's cursor and ends at o's end, hence the shift back.
    for (int64_t i = 0; i < a.n; ++i) members[start[dest[i]]++] = static_cast<int32_t>(i);
    for (int64_t o = n_out; o > 0; --o) start[o] = start[o - 1];
    start[0] = 0;
    // Size sums in input order, as MergeWeighted adds them.
    for (int64_t o = 0; o < n_out; ++o) {
      double sum = 0;
      for (int32_t m = start[o]; m < start[o + 1]; ++m) sum += a.size ? static_cast<double>(a.size[b * a.n + members[m]]) : 1.0;
      size_sum[o] = sum;
      a.size_out[b * n_out + o] = static_cast<float>(sum);
    }
  }
};

struct Merge {
  MergeArgs a;
  Scratch s;
  TURBO_HD void operator()(int64_t b, int64_t flat) const {
    const int64_t n_out = a.n - a.r, o = flat / a.channels, k = flat % a.channels;
    const int32_t* start = s.start + b * (n_out + 1);
    const int32_t* members = s.members + b * a.n;
    float* out = a.x_out + (b * n_out + o) * a.channels + k;
    if (start[o + 1] - start[o] == 1) {
      *out = a.x[(b * a.n + members[start[o]]) * a.channels + k];  // nothing merged into it: copy
      return;
    }
    double acc = 0;
    for (int32_t m = start[o]; m < start[o + 1]; ++m) {
      const int64_t i = members[m];
      const double sz = a.size ? static_cast<double>(a.size[b * a.n + i]) : 1.0;
      acc += TURBO_DMUL(static_cast<double>(a.x[(b * a.n + i) * a.channels + k]), sz);
    }
    *out = static_cast<float>(TURBO_DMUL(acc, 1.0 / s.size_sum[b * n_out + o]));
  }
};

#ifdef __CUDACC__
template <typename F>
__global__ void EachIndex(F f, int64_t count) {
  const int64_t b = blockIdx.y;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count; i += gridDim.x * static_cast<int64_t>(blockDim.x)) f(b, i);
}

// f(b, i) for every batch element b and i < count.
template <typename F>
Status ForEach(const F& f, int64_t batch, int64_t count, Stream stream) {
  if (count <= 0 || batch <= 0) return cudaSuccess;
  const int64_t blocks = (count + kThreads - 1) / kThreads;
  EachIndex<<<dim3(static_cast<unsigned>(blocks < 4096 ? blocks : 4096), static_cast<unsigned>(batch)), kThreads, 0, stream>>>(f, count);
  return cudaGetLastError();
}
#else
template <typename F>
Status ForEach(const F& f, int64_t batch, int64_t count, Stream) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < count; ++i) f(b, i);
  return 0;
}
#endif

}  // namespace

size_t ScratchBytes(int64_t batch, int64_t n, int64_t d, int64_t r, int64_t protected_tokens) {
  const int64_t ns = NumSources(n, protected_tokens), n_out = n - r;
  auto round8 = [](int64_t bytes) { return (bytes + 7) / 8 * 8; };
  return static_cast<size_t>(round8(batch * n * d * 8) + round8(batch * ns * 8) + round8(batch * n_out * 8) +
                             2 * round8(batch * ns * 4) + round8(batch * (n_out + 1) * 4) + round8(batch * n * 4));
}

Status LaunchTurboMerge(const MergeArgs& a, void* scratch, Stream stream) {
  const Scratch s = CarveScratch(a, scratch);
  const int64_t ns = NumSources(a.n, a.protected_tokens);
  Status st = Status();
  // Stop at the first launch error; the caller reports it.
  auto step = [&](Status next) { if (st == Status()) st = next; };
  if (a.r > 0) {
    step(ForEach(UnitRows{a, s}, a.batch, a.n, stream));
    step(ForEach(BestMatch{a, s}, a.batch, ns, stream));
    step(ForEach(Rank{a, s}, a.batch, ns, stream));
  }
  step(ForEach(Destination{a, s}, a.batch, a.n, stream));
  step(ForEach(Members{a, s}, a.batch, 1, stream));
  step(ForEach(Merge{a, s}, a.batch, (a.n - a.r) * a.channels, stream));
  return st;
}

}  // namespace gpu
}  // namespace turbo
