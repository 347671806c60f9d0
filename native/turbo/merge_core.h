// Turbo token merging, the reference C++ port of src/turbo/merge.ts and src/turbo/schedule.ts.
// Header-only and free of TensorFlow, so the TF CPU kernel, the CUDA harness (host reference) and
// the g++ unit test all compile the same code. Every decision is the one docs/ALGORITHM.md states
// and the TS reference makes; the arithmetic follows the TS code operation by operation (float64,
// same summation order), so the assignment is identical and merged rows agree to the last bit
// wherever the float64 results round to the same float32.
//
// Compile without FMA contraction (-ffp-contract=off): a fused multiply-add rounds differently from
// the TS reference's separate multiply and add. The TURBO_HD helpers are also the CUDA kernels'
// arithmetic (native/cuda/turbo_merge.cu); on the device TURBO_DMUL is __dmul_rn, which nvcc
// never fuses into an FMA.
#ifndef TURBO_MERGE_CORE_H_
#define TURBO_MERGE_CORE_H_

#include <math.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef __CUDACC__
#define TURBO_HD __host__ __device__
#else
#define TURBO_HD
#endif
#ifdef __CUDA_ARCH__
#define TURBO_DMUL(a, b) __dmul_rn((a), (b))
#else
#define TURBO_DMUL(a, b) ((a) * (b))
#endif

namespace turbo {

// Largest r, protected-token count or threshold accepted (src/ops/turbo_merge.ts MAX_TOKENS).
constexpr int64_t kMaxTokens = 65536;

// r actually merged in a block of n tokens: clamped to floor((n - p) / 2), 0 below the threshold.
inline int64_t EffectiveR(int64_t r, int64_t n, int64_t protected_tokens, int64_t r_threshold) {
  // floor, not truncation: (n - p) may be negative when p > n.
  const int64_t diff = n - protected_tokens;
  const int64_t half = diff >= 0 ? diff / 2 : -((-diff + 1) / 2);
  const int64_t clamped = std::min(r, half);
  return (clamped <= 0 || n < r_threshold) ? 0 : clamped;
}

// c = 30 * alpha * beta^|gamma - layer| (double, like the TS reference's Math operations).
inline double MergeWeight(double alpha, double beta, double gamma, double layer) {
  return 30.0 * alpha * pow(beta, fabs(gamma - layer));
}

// Token positions of the bipartite split, as formulas (the GPU kernels have no index vectors):
// source a is the a-th even position >= p, destination j the j-th odd position >= p.
TURBO_HD inline int64_t FirstSource(int64_t p) { return p + (p & 1); }
TURBO_HD inline int64_t FirstDest(int64_t p) { return p + 1 - (p & 1); }
TURBO_HD inline int64_t SourceToken(int64_t a, int64_t p) { return FirstSource(p) + 2 * a; }
TURBO_HD inline int64_t DestToken(int64_t j, int64_t p) { return FirstDest(p) + 2 * j; }
TURBO_HD inline int64_t NumSources(int64_t n, int64_t p) { return n > FirstSource(p) ? (n - FirstSource(p) + 1) / 2 : 0; }
TURBO_HD inline int64_t NumDests(int64_t n, int64_t p) { return n > FirstDest(p) ? (n - FirstDest(p) + 1) / 2 : 0; }

// Sources: unprotected even positions; destinations: unprotected odd positions (global index).
inline void SplitTokens(int64_t n, int64_t p, std::vector<int32_t>* src, std::vector<int32_t>* dst) {
  src->clear();
  dst->clear();
  for (int64_t i = std::max<int64_t>(p, 0); i < n; ++i) (i % 2 == 0 ? src : dst)->push_back(static_cast<int32_t>(i));
}

// u . v over d doubles in four partial sums, combined as s0 + s1 + (s2 + s3): the TS dot().
TURBO_HD inline double Dot4(const double* u, const double* v, int64_t d) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t k = 0;
  for (; k + 3 < d; k += 4) {
    s0 += TURBO_DMUL(u[k], v[k]);
    s1 += TURBO_DMUL(u[k + 1], v[k + 1]);
    s2 += TURBO_DMUL(u[k + 2], v[k + 2]);
    s3 += TURBO_DMUL(u[k + 3], v[k + 3]);
  }
  for (; k < d; ++k) s0 += TURBO_DMUL(u[k], v[k]);
  return s0 + s1 + (s2 + s3);
}

// One metric row scaled to unit L2 length (norm floored at 1e-12), in double: the TS unitRows().
TURBO_HD inline void UnitRow(const float* row, int64_t d, double* out) {
  double s = 0;
  for (int64_t k = 0; k < d; ++k) s += TURBO_DMUL(static_cast<double>(row[k]), static_cast<double>(row[k]));
  const double norm = sqrt(s);
  // Math.max(norm, 1e-12), NaN propagating like std::max(norm, 1e-12).
  const double inv = 1.0 / (norm < 1e-12 ? 1e-12 : norm);
  for (int64_t k = 0; k < d; ++k) out[k] = TURBO_DMUL(static_cast<double>(row[k]), inv);
}

// Sort key of a score: NaN ranks last (the TS comparator is inconsistent on NaN; this is defined).
TURBO_HD inline double RankKey(double score) { return score != score ? -static_cast<double>(INFINITY) : score; }

// True when source a goes before source b: larger E first, then smaller index (a stable sort).
TURBO_HD inline bool RanksBefore(double score_a, int64_t a, double score_b, int64_t b) {
  const double ka = RankKey(score_a), kb = RankKey(score_b);
  return ka > kb || (ka == kb && a < b);
}

// Token selection (src/ops/kernel_names.ts MERGE_SCORES) and merge arithmetic (MERGE_MODES), by graph code.
enum Score : int64_t { kScoreTurbo = 0, kScorePitome = 1, kScoreMctf = 2 };
enum MergeMode : int64_t { kMergeMean = 0, kMergeMlerp = 1 };

struct MatchParams {
  int64_t r;  // already clamped (EffectiveR); 0 = identity
  double c;   // class-token attention weight (MergeWeight); 0 = ToMe
  int64_t protected_tokens;
  int64_t score = kScoreTurbo;
  float margin = 0.5f;  // PiToMe's energy margin (float32, as the graph attr stores it)
  float tau_sim = 1.0f, tau_info = 20.0f, tau_size = 40.0f;  // MCTF's temperatures (0: criterion off)
  const float* size = nullptr;                              // prior sizes [batch, n] for MCTF, or null
};

// MCTF (the TS mctfMatch, docs/ALGORITHM.md): Turbo's split, edge weight
// ((cos + 1) / 2)^(1/tau_sim) * (info_a info_b)^(1/tau_info) * (size_a size_b)^(1/tau_size) with
// info = (1/attn) / max(1/attn), size = (1/size) / max(1/size) over the n tokens; floor(r/2) sources
// merge into their best destination, then r - floor(r/2) destinations (with what they received) into
// their best kept token (protected first, then the kept sources in token order, or in step-1 order
// when p = 0). Output: the kept tokens, then the other destinations in step-2 order.
inline int64_t MctfMatch(const float* metric, const float* attn, int64_t batch, int64_t n, int64_t d,
                         const MatchParams& params, int32_t* dest) {
  const int64_t r = params.r, p = params.protected_tokens, r1 = r / 2, r2 = r - r / 2;
  const double ts = params.tau_sim, ti = params.tau_info, tz = params.tau_size;
  std::vector<int32_t> src_idx, dst_idx;
  SplitTokens(n, p, &src_idx, &dst_idx);
  const int64_t ns = static_cast<int64_t>(src_idx.size()), nd = static_cast<int64_t>(dst_idx.size());
  std::vector<double> src_unit(ns * d), dst_unit(nd * d), w(ns * nd), info(n), size_w(n), inv(n), best_w(ns), best_w2(nd);
  std::vector<int32_t> best(ns), order(ns), kept, best2(nd), order2(nd), dst_out(nd);
  const auto criterion = [&](const float* v, double t, int64_t b, std::vector<double>* out) {
    if (v == nullptr || t == 0) {
      std::fill(out->begin(), out->end(), 1.0);
      return;
    }
    double mx = -static_cast<double>(INFINITY);
    for (int64_t i = 0; i < n; ++i) {
      inv[i] = 1.0 / static_cast<double>(v[b * n + i]);
      mx = (inv[i] != inv[i] || mx != mx) ? NAN : (inv[i] > mx ? inv[i] : mx);  // Math.max: NaN wins
    }
    for (int64_t i = 0; i < n; ++i) (*out)[i] = inv[i] / mx;
  };
  for (int64_t b = 0; b < batch; ++b) {
    const float* m = metric + b * n * d;
    for (int64_t a = 0; a < ns; ++a) UnitRow(m + src_idx[a] * d, d, &src_unit[a * d]);
    for (int64_t j = 0; j < nd; ++j) UnitRow(m + dst_idx[j] * d, d, &dst_unit[j * d]);
    criterion(attn, ti, b, &info);
    criterion(params.size, tz, b, &size_w);
    for (int64_t a = 0; a < ns; ++a) {
      double bw = -static_cast<double>(INFINITY);
      int32_t bj = 0;
      for (int64_t j = 0; j < nd; ++j) {
        const double sim = ts == 0 ? 1.0 : pow((Dot4(&src_unit[a * d], &dst_unit[j * d], d) + 1) / 2, 1 / ts);
        const double inf = ti == 0 ? 1.0 : pow(info[src_idx[a]] * info[dst_idx[j]], 1 / ti);
        const double sz = (tz == 0 || params.size == nullptr) ? 1.0 : pow(size_w[src_idx[a]] * size_w[dst_idx[j]], 1 / tz);
        const double v = w[a * nd + j] = sim * inf * sz;
        if (v > bw) {
          bw = v;
          bj = static_cast<int32_t>(j);
        }
      }
      best[a] = bj;
      best_w[a] = bw;
    }
    for (int64_t k = 0; k < ns; ++k) order[k] = static_cast<int32_t>(k);
    std::sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return RanksBefore(best_w[x], x, best_w[y], y); });
    kept.assign(order.begin() + r1, order.end());
    if (p > 0) std::sort(kept.begin(), kept.end());
    const int64_t u = p + static_cast<int64_t>(kept.size());
    for (int64_t j = 0; j < nd; ++j) {
      double bw = -static_cast<double>(INFINITY);
      int32_t bk = 0;
      for (size_t k = 0; k < kept.size(); ++k) {
        const double v = w[kept[k] * nd + j];
        if (v > bw) {
          bw = v;
          bk = static_cast<int32_t>(p + static_cast<int64_t>(k));
        }
      }
      best2[j] = bk;
      best_w2[j] = bw;
    }
    for (int64_t k = 0; k < nd; ++k) order2[k] = static_cast<int32_t>(k);
    std::sort(order2.begin(), order2.end(), [&](int32_t x, int32_t y) { return RanksBefore(best_w2[x], x, best_w2[y], y); });
    for (int64_t k = 0; k < r2; ++k) dst_out[order2[k]] = best2[order2[k]];
    for (int64_t k = r2; k < nd; ++k) dst_out[order2[k]] = static_cast<int32_t>(u + k - r2);
    int32_t* row = dest + b * n;
    for (int64_t i = 0; i < p && i < n; ++i) row[i] = static_cast<int32_t>(i);
    for (size_t k = 0; k < kept.size(); ++k) row[src_idx[kept[k]]] = static_cast<int32_t>(p + static_cast<int64_t>(k));
    for (int64_t j = 0; j < nd; ++j) row[dst_idx[j]] = dst_out[j];
    for (int64_t k = 0; k < r1; ++k) row[src_idx[order[k]]] = dst_out[best[order[k]]];
  }
  return n - r;
}

// PiToMe (the TS pitomeMatch, docs/ALGORITHM.md): energy E_i = mean_j ELU(cos(i, j) - margin) over
// the t = n - p unprotected tokens, itself included; the 2r highest, by rank k, are sources (even k)
// and destinations (odd k); every source merges into its most similar destination (first on ties).
// Output: protected tokens, the other t - 2r in descending-energy order, the destinations by rank.
inline int64_t PitomeMatch(const float* metric, int64_t batch, int64_t n, int64_t d, const MatchParams& params,
                           int32_t* dest) {
  const int64_t r = params.r, p = params.protected_tokens, t = n - p;
  const double m = static_cast<double>(params.margin);
  std::vector<double> unit(t * d), energy(t);
  std::vector<int32_t> order(t);
  for (int64_t b = 0; b < batch; ++b) {
    const float* rows = metric + (b * n + p) * d;
    for (int64_t i = 0; i < t; ++i) UnitRow(rows + i * d, d, &unit[i * d]);
    for (int64_t i = 0; i < t; ++i) {
      double e = 0;
      for (int64_t j = 0; j < t; ++j) {
        const double v = Dot4(&unit[i * d], &unit[j * d], d) - m;
        e += v > 0 ? v : expm1(v);
      }
      energy[i] = e / static_cast<double>(t);
    }
    for (int64_t k = 0; k < t; ++k) order[k] = static_cast<int32_t>(k);
    std::sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return RanksBefore(energy[x], x, energy[y], y); });
    int32_t* row = dest + b * n;
    for (int64_t i = 0; i < p; ++i) row[i] = static_cast<int32_t>(i);
    for (int64_t k = 2 * r; k < t; ++k) row[p + order[k]] = static_cast<int32_t>(p + k - 2 * r);
    const int64_t dst_base = p + t - 2 * r;
    for (int64_t j = 0; j < r; ++j) row[p + order[2 * j + 1]] = static_cast<int32_t>(dst_base + j);
    for (int64_t a = 0; a < r; ++a) {
      double best_cos = -static_cast<double>(INFINITY);
      int32_t best_j = 0;
      for (int64_t j = 0; j < r; ++j) {
        const double cos = Dot4(&unit[order[2 * a] * d], &unit[order[2 * j + 1] * d], d);
        if (cos > best_cos) {
          best_cos = cos;
          best_j = static_cast<int32_t>(j);
        }
      }
      row[p + order[2 * a]] = static_cast<int32_t>(dst_base + best_j);
    }
  }
  return n - r;
}

// dest [batch, n] (output index of every input token) for metric [batch, n, d] and
// cls_attn [batch, n]. Output order: protected tokens, unmerged sources (original order when
// p > 0, else descending E), destinations in original order; a merged source maps to its best
// destination. Returns n - r, the number of output tokens.
inline int64_t BipartiteMatch(const float* metric, const float* cls_attn, int64_t batch, int64_t n, int64_t d,
                              const MatchParams& params, int32_t* dest) {
  const int64_t r = params.r, p = params.protected_tokens;
  if (r <= 0) {
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < n; ++i) dest[b * n + i] = static_cast<int32_t>(i);
    return n;
  }
  if (params.score == kScorePitome) return PitomeMatch(metric, batch, n, d, params, dest);
  if (params.score == kScoreMctf) return MctfMatch(metric, cls_attn, batch, n, d, params, dest);
  std::vector<int32_t> src_idx, dst_idx;
  SplitTokens(n, p, &src_idx, &dst_idx);
  const int64_t ns = static_cast<int64_t>(src_idx.size()), nd = static_cast<int64_t>(dst_idx.size());
  std::vector<double> src_unit(ns * d), dst_unit(nd * d), score(ns);
  std::vector<int32_t> best(ns), order(ns), unmerged;
  for (int64_t b = 0; b < batch; ++b) {
    const float* m = metric + b * n * d;
    for (int64_t a = 0; a < ns; ++a) UnitRow(m + src_idx[a] * d, d, &src_unit[a * d]);
    for (int64_t j = 0; j < nd; ++j) UnitRow(m + dst_idx[j] * d, d, &dst_unit[j * d]);
    // R_a = max_j cos(A_a, B_j); the first j wins ties (strict >), like torch.max.
    for (int64_t a = 0; a < ns; ++a) {
      double best_cos = -static_cast<double>(INFINITY);
      int32_t best_j = 0;
      for (int64_t j = 0; j < nd; ++j) {
        const double cos = Dot4(&src_unit[a * d], &dst_unit[j * d], d);
        if (cos > best_cos) {
          best_cos = cos;
          best_j = static_cast<int32_t>(j);
        }
      }
      best[a] = best_j;
      score[a] = best_cos - params.c * static_cast<double>(cls_attn[b * n + src_idx[a]]);
    }
    for (int64_t a = 0; a < ns; ++a) order[a] = static_cast<int32_t>(a);
    std::sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return RanksBefore(score[x], x, score[y], y); });

    int32_t* row = dest + b * n;
    for (int64_t i = 0; i < p && i < n; ++i) row[i] = static_cast<int32_t>(i);
    unmerged.assign(order.begin() + r, order.end());
    if (p > 0) std::sort(unmerged.begin(), unmerged.end());
    for (size_t k = 0; k < unmerged.size(); ++k) row[src_idx[unmerged[k]]] = static_cast<int32_t>(p + k);
    const int64_t dst_base = p + static_cast<int64_t>(unmerged.size());
    for (int64_t j = 0; j < nd; ++j) row[dst_idx[j]] = static_cast<int32_t>(dst_base + j);
    for (int64_t k = 0; k < r; ++k) row[src_idx[order[k]]] = static_cast<int32_t>(dst_base + best[order[k]]);
  }
  return n - r;
}

// Size-weighted merge: x [batch, n, C], size [batch, n] or null (all 1) -> x_out [batch, n_out, C],
// size_out [batch, n_out]. Sums x*size and size per output token in float64 in input order, then
// multiplies by 1/sum; an output only one token went to is copied bit-exact. kMergeMlerp rescales a
// merged mean to the largest norm among its members, mean * max|x_i| / max(|mean|, 1e-12) (the TS
// mergeWeighted, same operation order).
inline void MergeWeighted(const float* x, const float* size, const int32_t* dest, int64_t batch, int64_t n,
                          int64_t n_out, int64_t channels, float* x_out, float* size_out,
                          int64_t mode = kMergeMean) {
  const int64_t C = channels;
  const bool mlerp = mode == kMergeMlerp;
  std::vector<int32_t> members(n_out), slot(n_out);
  std::vector<double> size_sum(n_out), acc, max_norm;
  for (int64_t b = 0; b < batch; ++b) {
    std::fill(members.begin(), members.end(), 0);
    std::fill(size_sum.begin(), size_sum.end(), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const int32_t o = dest[b * n + i];
      members[o]++;
      size_sum[o] += size ? static_cast<double>(size[b * n + i]) : 1.0;
    }
    int32_t merged = 0;
    for (int64_t o = 0; o < n_out; ++o) slot[o] = members[o] > 1 ? merged++ : -1;
    acc.assign(static_cast<size_t>(merged) * C, 0.0);
    max_norm.assign(mlerp ? static_cast<size_t>(merged) : 0, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const int32_t o = dest[b * n + i];
      const float* xi = x + (b * n + i) * C;
      if (slot[o] < 0) {
        std::copy(xi, xi + C, x_out + (b * n_out + o) * C);
      } else {
        const double s = size ? static_cast<double>(size[b * n + i]) : 1.0;
        double* row = &acc[static_cast<size_t>(slot[o]) * C];
        for (int64_t k = 0; k < C; ++k) row[k] += TURBO_DMUL(static_cast<double>(xi[k]), s);
        if (mlerp) {
          double q = 0;
          for (int64_t k = 0; k < C; ++k) q += TURBO_DMUL(static_cast<double>(xi[k]), static_cast<double>(xi[k]));
          const double norm = sqrt(q);
          double& best = max_norm[static_cast<size_t>(slot[o])];
          // Math.max: NaN wins.
          best = (norm != norm || best != best) ? NAN : (norm > best ? norm : best);
        }
      }
    }
    for (int64_t o = 0; o < n_out; ++o) {
      size_out[b * n_out + o] = static_cast<float>(size_sum[o]);
      if (slot[o] < 0) continue;
      const double inv = 1.0 / size_sum[o];
      double* row = &acc[static_cast<size_t>(slot[o]) * C];
      float* xo = x_out + (b * n_out + o) * C;
      if (!mlerp) {
        for (int64_t k = 0; k < C; ++k) xo[k] = static_cast<float>(TURBO_DMUL(row[k], inv));
        continue;
      }
      double q = 0;
      for (int64_t k = 0; k < C; ++k) {
        row[k] = TURBO_DMUL(row[k], inv);
        q += TURBO_DMUL(row[k], row[k]);
      }
      const double mean_norm = sqrt(q);
      const double scale = max_norm[static_cast<size_t>(slot[o])] / (mean_norm < 1e-12 ? 1e-12 : mean_norm);
      for (int64_t k = 0; k < C; ++k) xo[k] = static_cast<float>(TURBO_DMUL(row[k], scale));
    }
  }
}

// y [batch, n_out, C] -> out [batch, n, C]: every input token gets the row it was merged into.
// dest must hold indices in [0, n_out) (the TF kernel checks before calling).
inline void Unmerge(const float* y, const int32_t* dest, int64_t batch, int64_t n, int64_t n_out, int64_t channels,
                    float* out) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n; ++i) {
      const float* from = y + (b * n_out + dest[b * n + i]) * channels;
      std::copy(from, from + channels, out + (b * n + i) * channels);
    }
}

}  // namespace turbo

#endif  // TURBO_MERGE_CORE_H_
