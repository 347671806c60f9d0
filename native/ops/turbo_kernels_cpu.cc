// DEVICE_CPU kernels of TurboMerge, TurboPropAttnBias and TurboUnmerge: argument checks
// (the messages of src/ops/turbo_merge.ts, as InvalidArgument), then turbo/merge_core.h.
#include <cmath>

#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"
#include "ops/merge_attrs.h"
#include "turbo/merge_core.h"

namespace tensorflow {

class TurboMergeCpuOp : public OpKernel {
 public:
  explicit TurboMergeCpuOp(OpKernelConstruction* ctx) : OpKernel(ctx), attrs_(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    turbo::MergeShapes s;
    OP_REQUIRES_OK(ctx, turbo::CheckMergeInputs(ctx, attrs_, &s));
    Tensor *x_out, *size_out, *assignment;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({s.batch, s.n_out, s.channels}), &x_out));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({s.batch, s.n_out}), &size_out));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({s.batch, s.n}), &assignment));
    const Tensor& x = ctx->input(0);
    const float* size = s.has_size ? ctx->input(3).flat<float>().data() : nullptr;
    int32_t* dest = assignment->flat<int32>().data();
    turbo::MatchParams params{s.r, attrs_.c, attrs_.protected_tokens, attrs_.score, attrs_.margin};
    params.tau_sim = attrs_.tau_sim;
    params.tau_info = attrs_.tau_info;
    params.tau_size = attrs_.tau_size;
    params.size = size;
    turbo::BipartiteMatch(ctx->input(1).flat<float>().data(), ctx->input(2).flat<float>().data(), s.batch, s.n, s.d,
                          params, dest);
    turbo::MergeWeighted(x.flat<float>().data(), size, dest, s.batch, s.n, s.n_out, s.channels,
                         x_out->flat<float>().data(), size_out->flat<float>().data(), attrs_.merge_mode);
  }

 private:
  turbo::MergeAttrs attrs_;
};

class TurboPropAttnBiasCpuOp : public OpKernel {
 public:
  explicit TurboPropAttnBiasCpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& size = ctx->input(0);
    OP_REQUIRES(ctx, size.dims() == 2,
                errors::InvalidArgument("TurboPropAttnBias: size must be rank 2 [B, N], got shape ",
                                        size.shape().DebugString()));
    const int64_t batch = size.dim_size(0), n = size.dim_size(1);
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({batch, 1, 1, n}), &out));
    const float* in = size.flat<float>().data();
    float* o = out->flat<float>().data();
    for (int64_t i = 0; i < batch * n; ++i) o[i] = std::log(in[i]);
  }
};

class TurboUnmergeCpuOp : public OpKernel {
 public:
  explicit TurboUnmergeCpuOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& y = ctx->input(0);
    const Tensor& assignment = ctx->input(1);
    OP_REQUIRES(ctx, y.dims() == 3,
                errors::InvalidArgument("TurboUnmerge: y must be rank 3 [B, N', C], got shape ", y.shape().DebugString()));
    OP_REQUIRES(ctx, assignment.dims() == 2,
                errors::InvalidArgument("TurboUnmerge: assignment must be rank 2 [B, N], got shape ",
                                        assignment.shape().DebugString()));
    OP_REQUIRES(ctx, assignment.dim_size(0) == y.dim_size(0),
                errors::InvalidArgument("TurboUnmerge: assignment batch ", assignment.dim_size(0),
                                        " does not match y batch ", y.dim_size(0)));
    const int64_t batch = y.dim_size(0), n_out = y.dim_size(1), channels = y.dim_size(2), n = assignment.dim_size(1);
    const int32_t* dest = assignment.flat<int32>().data();
    // An index outside y would read out of bounds: refuse it.
    for (int64_t i = 0; i < batch * n; ++i) {
      OP_REQUIRES(ctx, dest[i] >= 0 && dest[i] < n_out,
                  errors::InvalidArgument("TurboUnmerge: assignment value ", dest[i], " at flat index ", i,
                                          " is outside [0, ", n_out, ")"));
    }
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({batch, n, channels}), &out));
    turbo::Unmerge(y.flat<float>().data(), dest, batch, n, n_out, channels, out->flat<float>().data());
  }
};

REGISTER_KERNEL_BUILDER(Name("TurboMerge").Device(DEVICE_CPU), TurboMergeCpuOp);
REGISTER_KERNEL_BUILDER(Name("TurboPropAttnBias").Device(DEVICE_CPU), TurboPropAttnBiasCpuOp);
REGISTER_KERNEL_BUILDER(Name("TurboUnmerge").Device(DEVICE_CPU), TurboUnmergeCpuOp);

}  // namespace tensorflow
