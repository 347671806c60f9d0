// DEVICE_GPU kernel of TurboMerge (CUDA builds of TensorFlow, tfjs-node-gpu): the checks of the
// CPU kernel, then LaunchTurboMerge (native/cuda/turbo_merge.cu, built by nvcc) on TensorFlow's
// stream. Plain C++ compiled with GOOGLE_CUDA=1; without it this file is empty. TurboPropAttnBias
// and TurboUnmerge stay on the CPU (elementwise log, a gather: not worth a device kernel yet).
#if GOOGLE_CUDA
#define EIGEN_USE_GPU

#include "cuda/turbo_merge.h"
#include "ops/merge_attrs.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "unsupported/Eigen/CXX11/Tensor"

namespace tensorflow {

class TurboMergeGpuOp : public OpKernel {
 public:
  explicit TurboMergeGpuOp(OpKernelConstruction* ctx) : OpKernel(ctx), attrs_(ctx) {
    // The CUDA kernels compute Turbo's score and the mean only; other choices are refused, not run as Turbo.
    OP_REQUIRES(ctx, attrs_.score == turbo::kScoreTurbo && attrs_.merge_mode == turbo::kMergeMean,
                errors::Unimplemented("TurboMerge on the GPU: only score 'turbo' with merge 'mean'; got score ",
                                      attrs_.score, ", merge ", attrs_.merge_mode,
                                      " (run on the CPU device or convert with --score turbo --merge mean)"));
  }

  void Compute(OpKernelContext* ctx) override {
    turbo::MergeShapes s;
    OP_REQUIRES_OK(ctx, turbo::CheckMergeInputs(ctx, attrs_, &s));
    Tensor *x_out, *size_out, *assignment, scratch;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({s.batch, s.n_out, s.channels}), &x_out));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({s.batch, s.n_out}), &size_out));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({s.batch, s.n}), &assignment));
    const int64_t bytes = static_cast<int64_t>(turbo::gpu::ScratchBytes(s.batch, s.n, s.d, s.r, attrs_.protected_tokens));
    OP_REQUIRES_OK(ctx, ctx->allocate_temp(DT_INT8, TensorShape({bytes}), &scratch));
    const turbo::gpu::MergeArgs args{
        ctx->input(0).flat<float>().data(), ctx->input(1).flat<float>().data(), ctx->input(2).flat<float>().data(),
        s.has_size ? ctx->input(3).flat<float>().data() : nullptr,
        s.batch, s.n, s.channels, s.d, s.r, attrs_.protected_tokens, attrs_.c,
        x_out->flat<float>().data(), size_out->flat<float>().data(), assignment->flat<int32>().data()};
    const cudaStream_t stream = ctx->eigen_device<Eigen::GpuDevice>().stream();
    const cudaError_t status = turbo::gpu::LaunchTurboMerge(args, scratch.flat<int8>().data(), stream);
    OP_REQUIRES(ctx, status == cudaSuccess, errors::Internal("TurboMerge CUDA launch failed: ", cudaGetErrorString(status)));
  }

 private:
  turbo::MergeAttrs attrs_;
};

REGISTER_KERNEL_BUILDER(Name("TurboMerge").Device(DEVICE_GPU), TurboMergeGpuOp);

}  // namespace tensorflow

#endif  // GOOGLE_CUDA
