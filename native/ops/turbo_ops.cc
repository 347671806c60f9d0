// The Turbo ops' TensorFlow definitions: names, inputs, attrs and shape functions exactly as the
// graphs written by convert-with-turbo use them (src/rewrite/pass.ts), so a GraphDef or SavedModel
// holding them runs once this library is loaded. Kernels: turbo_kernels_cpu.cc (DEVICE_CPU),
// turbo_merge_gpu.cu.cc (DEVICE_GPU, CUDA builds only).
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "turbo/merge_core.h"

namespace tensorflow {
namespace {

using shape_inference::DimensionHandle;
using shape_inference::InferenceContext;
using shape_inference::ShapeHandle;

// Outputs of TurboMerge: x [B, N', C], size [B, N'], assignment [B, N]. N' = N - r is known
// whenever N is, because the clamped r depends on N and the attrs alone.
Status TurboMergeShape(InferenceContext* c) {
  ShapeHandle x, metric, cls_attn;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &x));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 3, &metric));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(2), 2, &cls_attn));
  int64_t num_sizes;
  TF_RETURN_IF_ERROR(c->GetAttr("N", &num_sizes));
  if (num_sizes > 1) return errors::InvalidArgument("TurboMerge takes at most one size input, got N = ", num_sizes);
  DimensionHandle batch = c->Dim(x, 0), tokens = c->Dim(x, 1);
  TF_RETURN_IF_ERROR(c->Merge(batch, c->Dim(metric, 0), &batch));
  TF_RETURN_IF_ERROR(c->Merge(tokens, c->Dim(metric, 1), &tokens));
  TF_RETURN_IF_ERROR(c->Merge(batch, c->Dim(cls_attn, 0), &batch));
  TF_RETURN_IF_ERROR(c->Merge(tokens, c->Dim(cls_attn, 1), &tokens));
  if (num_sizes == 1) {
    ShapeHandle size;
    TF_RETURN_IF_ERROR(c->WithRank(c->input(3), 2, &size));
    TF_RETURN_IF_ERROR(c->Merge(batch, c->Dim(size, 0), &batch));
    TF_RETURN_IF_ERROR(c->Merge(tokens, c->Dim(size, 1), &tokens));
  }
  DimensionHandle tokens_out = c->UnknownDim();
  if (c->ValueKnown(tokens)) {
    int64_t r, protected_tokens, r_threshold;
    TF_RETURN_IF_ERROR(c->GetAttr("r", &r));
    TF_RETURN_IF_ERROR(c->GetAttr("protected_tokens", &protected_tokens));
    TF_RETURN_IF_ERROR(c->GetAttr("r_threshold", &r_threshold));
    const int64_t n = c->Value(tokens);
    tokens_out = c->MakeDim(n - turbo::EffectiveR(r, n, protected_tokens, r_threshold));
  }
  c->set_output(0, c->MakeShape({batch, tokens_out, c->Dim(x, 2)}));
  c->set_output(1, c->MakeShape({batch, tokens_out}));
  c->set_output(2, c->MakeShape({batch, tokens}));
  return OkStatus();
}

// size [B, N] -> log(size) as [B, 1, 1, N], broadcasting over attention logits [B, H, N_q, N_k].
Status TurboPropAttnBiasShape(InferenceContext* c) {
  ShapeHandle size;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 2, &size));
  c->set_output(0, c->MakeShape({c->Dim(size, 0), c->MakeDim(1), c->MakeDim(1), c->Dim(size, 1)}));
  return OkStatus();
}

// y [B, N', C], assignment [B, N] -> [B, N, C].
Status TurboUnmergeShape(InferenceContext* c) {
  ShapeHandle y, assignment;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &y));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 2, &assignment));
  DimensionHandle batch;
  TF_RETURN_IF_ERROR(c->Merge(c->Dim(y, 0), c->Dim(assignment, 0), &batch));
  c->set_output(0, c->MakeShape({batch, c->Dim(assignment, 1), c->Dim(y, 2)}));
  return OkStatus();
}

}  // namespace

// size is optional (the first merge of a model has none: every token counts 1), hence a list of
// N <= 1 tensors: N = 0 without it, N = 1 with it. Whoever builds the NodeDef sets N.
REGISTER_OP("TurboMerge")
    .Input("x: float")
    .Input("metric: float")
    .Input("cls_attn: float")
    .Input("size: N * float")
    .Attr("N: int >= 0 = 0")
    .Attr("r: int >= 0")
    .Attr("alpha: float = 5.0")
    .Attr("beta: float = 1.0")
    .Attr("gamma: float = 0.0")
    .Attr("layer: int >= 0 = 0")
    .Attr("protected_tokens: int >= 0 = 1")
    .Attr("r_threshold: int >= 0 = 0")
    .Attr("score: int = 0")
    .Attr("merge_mode: int = 0")
    .Attr("margin: float = 0.5")
    .Attr("tau_sim: float = 1.0")
    .Attr("tau_info: float = 20.0")
    .Attr("tau_size: float = 40.0")
    .Output("x_merged: float")
    .Output("size_merged: float")
    .Output("assignment: int32")
    .SetShapeFn(TurboMergeShape)
    .Doc(R"doc(
Turbo token merging (arXiv 2407.11717): merges the r least informative redundant tokens of x.
x [B, N, C], metric [B, N, d] (head-averaged keys), cls_attn [B, N] (head-averaged class-token
attention), size [B, N] (N = 1) or all ones (N = 0) -> x_merged [B, N - r, C], size_merged
[B, N - r], assignment [B, N] (the output index of every input token). r is clamped to
floor((N - protected_tokens) / 2) and is 0 when N < r_threshold; c = 30 alpha beta^|gamma - layer|.
score: 0 Turbo's informativity (alpha 0 = ToMe), 1 PiToMe's energy mean_j ELU(cos - margin),
2 MCTF's similarity x informativeness x size weight (tau_sim, tau_info, tau_size), matched both ways;
with score 2, cls_attn carries the attention each token receives (mean over heads and queries).
merge_mode: 0 size-weighted mean, 1 MLERP (the mean rescaled to its largest member norm).
)doc");

REGISTER_OP("TurboPropAttnBias")
    .Input("size: float")
    .Output("bias: float")
    .SetShapeFn(TurboPropAttnBiasShape)
    .Doc("Proportional attention: log(size) [B, N] reshaped to [B, 1, 1, N].");

REGISTER_OP("TurboUnmerge")
    .Input("y: float")
    .Input("assignment: int32")
    .Output("unmerged: float")
    .SetShapeFn(TurboUnmergeShape)
    .Doc("Undoes a TurboMerge: every input token gets the row of y it was merged into.");

}  // namespace tensorflow
