// TurboMerge's attrs and input checks, shared by the CPU and GPU kernels. The messages are those of
// src/ops/turbo_merge.ts (mergeAttrs, checkMergeInputs), so every backend refuses the same inputs
// with the same words.
#ifndef TURBO_OPS_MERGE_ATTRS_H_
#define TURBO_OPS_MERGE_ATTRS_H_

#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "turbo/merge_core.h"

namespace turbo {

struct MergeAttrs {
  int64_t r = 0, layer = 0, protected_tokens = 1, r_threshold = 0, score = kScoreTurbo, merge_mode = kMergeMean;
  float margin = 0.5f, tau_sim = 1.0f, tau_info = 20.0f, tau_size = 40.0f;
  double c = 0;  // 30 * alpha * beta^|gamma - layer|

  explicit MergeAttrs(tensorflow::OpKernelConstruction* ctx) {
    float alpha, beta, gamma;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("r", &r));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("alpha", &alpha));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("beta", &beta));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("gamma", &gamma));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("layer", &layer));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("protected_tokens", &protected_tokens));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("r_threshold", &r_threshold));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("score", &score));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("merge_mode", &merge_mode));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("margin", &margin));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("tau_sim", &tau_sim));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("tau_info", &tau_info));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("tau_size", &tau_size));
    OP_REQUIRES(ctx, score == kScoreTurbo || score == kScorePitome || score == kScoreMctf,
                tensorflow::errors::InvalidArgument("turboMerge: score = ", score,
                                                    " is not one of 'turbo' (0), 'pitome' (1), 'mctf' (2)"));
    for (auto [name, v] : {std::pair<const char*, float>{"tauSim", tau_sim}, {"tauInfo", tau_info}, {"tauSize", tau_size}}) {
      OP_REQUIRES(ctx, std::isfinite(v) && v >= 0,
                  tensorflow::errors::InvalidArgument("turboMerge: ", name, " = ", v, " must be finite and non-negative"));
    }
    OP_REQUIRES(ctx, merge_mode == kMergeMean || merge_mode == kMergeMlerp,
                tensorflow::errors::InvalidArgument("turboMerge: merge = ", merge_mode, " is not one of 'mean' (0), 'mlerp' (1)"));
    // No model has this many tokens; an edited graph asking for more is refused, not clamped.
    for (auto [name, v] : {std::pair<const char*, int64_t>{"r", r}, {"protected_tokens", protected_tokens},
                           {"r_threshold", r_threshold}}) {
      OP_REQUIRES(ctx, v <= kMaxTokens,
                  tensorflow::errors::InvalidArgument("turboMerge: ", name, " = ", v, " is out of range (at most ",
                                                      kMaxTokens, ")"));
    }
    for (auto [name, v] : {std::pair<const char*, float>{"alpha", alpha}, {"beta", beta}, {"gamma", gamma}, {"margin", margin}}) {
      OP_REQUIRES(ctx, std::isfinite(v), tensorflow::errors::InvalidArgument("turboMerge: ", name, " must be finite, got ", v));
    }
    c = MergeWeight(alpha, beta, gamma, static_cast<double>(layer));
  }
};

struct MergeShapes {
  int64_t batch = 0, n = 0, channels = 0, d = 0, r = 0, n_out = 0;
  bool has_size = false;
};

// Rank, shape and batch checks of x, metric, cls_attn and the optional size; fills the shapes and
// the clamped r.
inline tensorflow::Status CheckMergeInputs(tensorflow::OpKernelContext* ctx, const MergeAttrs& attrs, MergeShapes* s) {
  using tensorflow::errors::InvalidArgument;
  const tensorflow::Tensor& x = ctx->input(0);
  const tensorflow::Tensor& metric = ctx->input(1);
  const tensorflow::Tensor& cls_attn = ctx->input(2);
  const auto shape = [](const tensorflow::Tensor& t) { return t.shape().DebugString(); };
  if (x.dims() != 3) return InvalidArgument("turboMerge: x must be rank 3 [B, N, C], got shape ", shape(x));
  if (metric.dims() != 3) return InvalidArgument("turboMerge: metric must be rank 3 [B, N, d], got shape ", shape(metric));
  if (cls_attn.dims() != 2) return InvalidArgument("turboMerge: clsAttn must be rank 2 [B, N], got shape ", shape(cls_attn));
  s->batch = x.dim_size(0);
  s->n = x.dim_size(1);
  s->channels = x.dim_size(2);
  s->d = metric.dim_size(2);
  if (s->batch == 0)
    return InvalidArgument("turboMerge: x has batch size 0 (shape ", shape(x), "); run the model on at least one image");
  if (s->n == 0) return InvalidArgument("turboMerge: x has no tokens (shape ", shape(x), ")");
  if (metric.dim_size(0) != s->batch || metric.dim_size(1) != s->n)
    return InvalidArgument("turboMerge: metric shape ", shape(metric), " does not match x ", shape(x), " in B, N");
  if (cls_attn.dim_size(0) != s->batch || cls_attn.dim_size(1) != s->n)
    return InvalidArgument("turboMerge: clsAttn shape ", shape(cls_attn), " does not match x ", shape(x), " in B, N");
  if (ctx->num_inputs() > 4) return InvalidArgument("turboMerge: at most one size input, got ", ctx->num_inputs() - 3);
  s->has_size = ctx->num_inputs() == 4;
  if (s->has_size) {
    const tensorflow::Tensor& size = ctx->input(3);
    if (size.dims() != 2) return InvalidArgument("turboMerge: size must be rank 2 [B, N], got shape ", shape(size));
    if (size.dim_size(0) != s->batch || size.dim_size(1) != s->n)
      return InvalidArgument("turboMerge: size shape ", shape(size), " does not match x ", shape(x), " in B, N");
  }
  s->r = EffectiveR(attrs.r, s->n, attrs.protected_tokens, attrs.r_threshold);
  s->n_out = s->n - s->r;
  return tensorflow::OkStatus();
}

}  // namespace turbo

#endif  // TURBO_OPS_MERGE_ATTRS_H_
