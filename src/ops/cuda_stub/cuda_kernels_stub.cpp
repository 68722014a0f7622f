// The build without mlrec's CUDA kernels (no CUDA compiler, or -DMLREC_CUDA_KERNELS=OFF): the
// same functions as src/ops/cuda/, so the op front-ends compile and link one way in every build
// (flashlight's backend/stub, ATen's dispatch stubs). cuda_kernels_built() is false, every op's
// `*_supports` check says no, and the front-ends run torch's ops instead: none of the functions
// below is reached. Reaching one anyway is a bug in a front-end, reported as such.
#include <stdexcept>

#include "mlrec/ops/cuda_kernels.h"
#include "ops/cuda/batch_norm_mish_kernels.h"
#include "ops/cuda/column_sums_kernels.h"
#include "ops/cuda/embedding_kernels.h"
#include "ops/cuda/gelu_dropout_kernels.h"
#include "ops/cuda/kernel_image.h"
#include "ops/cuda/layer_norm_kernels.h"
#include "ops/cuda/mf_kernels.h"
#include "ops/cuda/residual_layer_norm_kernels.h"
#include "ops/cuda/scheduled_adamw_kernels.h"
#include "ops/cuda/short_attention_kernels.h"

namespace mlrec::ops {

bool cuda_kernels_built() { return false; }

namespace detail {
namespace {

[[noreturn]] void not_built(const char* function) {
  throw std::logic_error(std::string(function) + ": mlrec was built without its CUDA kernels");
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor> batch_norm_mish_forward_cuda(const at::Tensor&, const at::Tensor&,
                                                                            const at::Tensor&, const at::Tensor&,
                                                                            const at::Tensor&, double, double) {
  not_built(__func__);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> batch_norm_mish_backward_cuda(const at::Tensor&, const at::Tensor&,
                                                                             const at::Tensor&, const at::Tensor&,
                                                                             const at::Tensor&, const at::Tensor&) {
  not_built(__func__);
}

at::Tensor column_sums_cuda(const at::Tensor&) { not_built(__func__); }

std::tuple<at::Tensor, at::Tensor> mf_forward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                   const at::Tensor&, const at::Tensor&, const at::Tensor&, double,
                                                   double) {
  not_built(__func__);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> mf_backward_cuda(const at::Tensor&, const at::Tensor&,
                                                                            const at::Tensor&, const at::Tensor&,
                                                                            int64_t, int64_t, const at::Tensor&,
                                                                            const at::Tensor&, double, int64_t) {
  not_built(__func__);
}

bool kernel_image_for(int, std::string* why) {
  if (why) *why = "mlrec was built without its CUDA kernels";
  return false;
}

std::tuple<at::Tensor, at::Tensor> gelu_dropout_forward_cuda(const at::Tensor&, double) { not_built(__func__); }

at::Tensor gelu_dropout_backward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&, double) {
  not_built(__func__);
}

std::tuple<at::Tensor, at::Tensor> gelu_dropout_backward_with_column_sums_cuda(const at::Tensor&, const at::Tensor&,
                                                                              const at::Tensor&, double) {
  not_built(__func__);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> dropout_add_layer_norm_forward_cuda(
    const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double, double) {
  not_built(__func__);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> dropout_add_layer_norm_backward_cuda(
    const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
    double, at::ScalarType) {
  not_built(__func__);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> layer_norm_forward_cuda(const at::Tensor&, const at::Tensor&,
                                                                       const at::Tensor&, double) {
  not_built(__func__);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> layer_norm_backward_cuda(const at::Tensor&, const at::Tensor&,
                                                                        const at::Tensor&, const at::Tensor&,
                                                                        const at::Tensor&) {
  not_built(__func__);
}

void scheduled_adamw_cuda_(at::TensorList, at::TensorList, at::TensorList, at::TensorList, at::TensorList,
                           const at::Tensor&, const at::Tensor&, double, double, double) {
  not_built(__func__);
}

int64_t short_attention_shared_bytes(int64_t, int64_t, int64_t) { not_built(__func__); }

std::tuple<at::Tensor, at::Tensor, at::Tensor> short_attention_forward_cuda(const at::Tensor&, const at::Tensor&,
                                                                            int64_t, double, double) {
  not_built(__func__);
}

at::Tensor short_attention_backward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         int64_t, double, double) {
  not_built(__func__);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> short_attention_v1_forward_cuda(const at::Tensor&, const at::Tensor&,
                                                                               int64_t, double, double) {
  not_built(__func__);
}

at::Tensor short_attention_v1_backward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                            const at::Tensor&, int64_t, double, double) {
  not_built(__func__);
}

at::Tensor embedding_backward_cuda(const at::Tensor&, const at::Tensor&, int64_t, int64_t) { not_built(__func__); }

}  // namespace detail
}  // namespace mlrec::ops
