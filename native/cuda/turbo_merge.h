// LaunchTurboMerge: TurboMerge on a CUDA stream (native/cuda/turbo_merge.cu), TensorFlow-free.
// Built by nvcc it launches kernels; built as C++ the same code runs on the host, with host
// pointers standing in for device pointers (the harness's --cpu mode).
#ifndef TURBO_CUDA_TURBO_MERGE_H_
#define TURBO_CUDA_TURBO_MERGE_H_

#include <cstddef>
#include <cstdint>

#include "turbo/merge_core.h"

// The CUDA types whenever the CUDA runtime is there: under nvcc, and in the TF GPU kernel
// (native/ops/turbo_merge_gpu.cc, plain C++ built with GOOGLE_CUDA=1), so both sides agree on
// LaunchTurboMerge's signature.
#if defined(__CUDACC__) || GOOGLE_CUDA
#define TURBO_CUDA_RUNTIME 1
#include <cuda_runtime.h>
#endif

namespace turbo {
namespace gpu {

#ifdef TURBO_CUDA_RUNTIME
using Status = cudaError_t;
using Stream = cudaStream_t;
#else
using Status = int;  // 0 = success
using Stream = void*;
#endif

// All pointers are device pointers. r is already clamped (EffectiveR); c = MergeWeight(...).
struct MergeArgs {
  const float* x;         // [batch, n, channels]
  const float* metric;    // [batch, n, d]
  const float* cls_attn;  // [batch, n]
  const float* size;      // [batch, n], or null: all ones
  int64_t batch, n, channels, d, r, protected_tokens;
  double c;
  float* x_out;     // [batch, n - r, channels]
  float* size_out;  // [batch, n - r]
  int32_t* dest;    // [batch, n]: the assignment output
};

// Bytes of device scratch LaunchTurboMerge needs for these shapes.
size_t ScratchBytes(int64_t batch, int64_t n, int64_t d, int64_t r, int64_t protected_tokens);

// Enqueues the merge on `stream`; returns the first launch error (kernels run asynchronously).
Status LaunchTurboMerge(const MergeArgs& args, void* scratch, Stream stream);

}  // namespace gpu
}  // namespace turbo

#endif  // TURBO_CUDA_TURBO_MERGE_H_
