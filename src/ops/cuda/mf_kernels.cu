// Matrix factorisation's prediction and its gradients as one kernel each way. With torch's ops the
// model's part of a step is ~27 small kernels (four embedding lookups and their backward scatters
// with their zero fills, the product, its row sums, two bias adds, the sigmoid and the scaling,
// and their backward; counted from the code). At a few us each inside a CUDA graph they, not the
// memory, are the likely bound of an MF step (an H200 ran ~0.11 ms steps; not profiled). Here it
// is 6 kernels, the four zero fills included. One warp handles one sample: the lanes share its F
// factors, a shuffle reduction gives the dot product; backward adds g * item row into the user
// row's gradient and g * user row into the item row's with atomics (as the scatter-add lookups
// do, so not bit-reproducible), into tables zeroed by its own allocation.
#include "ops/cuda/mf_kernels.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/cuda/cuda_types.cuh"

namespace mlrec::ops::detail {
namespace {

constexpr int kWarpsPerBlock = 8;  // one sample per warp

struct Tables {
  const float* user_factors;
  const float* item_factors;
  const float* user_bias;
  const float* item_bias;
  int64_t factors;
  int64_t user_rows, item_rows;  // for the index asserts: an id past a table would read or add out of bounds
};

template <typename Index>
struct Samples {
  const Index* user;
  int64_t user_stride;
  const Index* item;
  int64_t item_stride;
  int64_t count;
};

template <typename Index>
__global__ void mf_forward(Tables t, Samples<Index> s, float low, float scale, float* __restrict__ prediction,
                           float* __restrict__ sigmoid) {
  const int lane = threadIdx.x % 32;
  const int64_t b = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (b >= s.count) return;  // (the whole warp: b is the same for its lanes)
  const int64_t u = s.user[b * s.user_stride], i = s.item[b * s.item_stride];
  // As torch's embedding lookup asserts (a device assert: no host synchronisation, and graphs
  // keep it).
  CUDA_KERNEL_ASSERT(u >= 0 && u < t.user_rows && i >= 0 && i < t.item_rows);
  const float* user_row = t.user_factors + u * t.factors;
  const float* item_row = t.item_factors + i * t.factors;
  float dot = 0.f;
  for (int64_t f = lane; f < t.factors; f += 32) dot += user_row[f] * item_row[f];
  for (int offset = 16; offset > 0; offset /= 2) dot += __shfl_down_sync(0xffffffffu, dot, offset);
  if (lane == 0) {
    const float z = dot + t.user_bias[u] + t.item_bias[i];
    const float y = 1.f / (1.f + expf(-z));
    sigmoid[b] = y;
    prediction[b] = y * scale + low;
  }
}

template <typename Index>
__global__ void mf_backward(Tables t, Samples<Index> s, const float* __restrict__ grad, const float* __restrict__ sigmoid,
                            float scale, int64_t padding_idx, float* __restrict__ grad_user_factors,
                            float* __restrict__ grad_item_factors, float* __restrict__ grad_user_bias,
                            float* __restrict__ grad_item_bias) {
  const int lane = threadIdx.x % 32;
  const int64_t b = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (b >= s.count) return;
  const int64_t u = s.user[b * s.user_stride], i = s.item[b * s.item_stride];
  const float y = sigmoid[b];
  const float g = grad[b] * scale * (1.f - y) * y;  // d prediction / d z, as sigmoid's backward
  const bool user_learns = u != padding_idx, item_learns = i != padding_idx;
  const float* user_row = t.user_factors + u * t.factors;
  const float* item_row = t.item_factors + i * t.factors;
  for (int64_t f = lane; f < t.factors; f += 32) {
    if (user_learns) atomicAdd(grad_user_factors + u * t.factors + f, g * item_row[f]);
    if (item_learns) atomicAdd(grad_item_factors + i * t.factors + f, g * user_row[f]);
  }
  if (lane == 0) {
    if (user_learns) atomicAdd(grad_user_bias + u, g);
    if (item_learns) atomicAdd(grad_item_bias + i, g);
  }
}

void check_index(const at::Tensor& index, const at::Tensor& table, const char* what) {
  TORCH_CHECK(index.is_cuda() && (index.scalar_type() == at::kInt || index.scalar_type() == at::kLong) &&
                  index.dim() == 1,
              "mf: ", what, " must be a CUDA vector of int32 or int64");
  check_device(index, table.device(), "mf", what);
}

void check_tables(const at::Tensor& user_factors, const at::Tensor& item_factors, const at::Tensor& user_bias,
                  const at::Tensor& item_bias) {
  check_float_cuda(user_factors, "mf", "the user factors");
  check_float_cuda(item_factors, "mf", "the item factors");
  check_float_cuda(user_bias, "mf", "the user biases");
  check_float_cuda(item_bias, "mf", "the item biases");
  TORCH_CHECK(user_factors.dim() == 2 && item_factors.dim() == 2 && user_factors.size(1) == item_factors.size(1),
              "mf: the factor tables must be matrices of one width");
  TORCH_CHECK(user_bias.numel() == user_factors.size(0) && item_bias.numel() == item_factors.size(0),
              "mf: a bias per table row");
  for (const auto* t : {&item_factors, &user_bias, &item_bias}) check_device(*t, user_factors.device(), "mf", "a table");
}

Tables tables_of(const at::Tensor& user_factors, const at::Tensor& item_factors, const at::Tensor& user_bias,
                 const at::Tensor& item_bias) {
  return {user_factors.data_ptr<float>(), item_factors.data_ptr<float>(),
          user_bias.defined() ? user_bias.data_ptr<float>() : nullptr,
          item_bias.defined() ? item_bias.data_ptr<float>() : nullptr, user_factors.size(1), user_factors.size(0),
          item_factors.size(0)};
}

template <typename Index>
Samples<Index> samples_of(const at::Tensor& user, const at::Tensor& item) {
  return {user.data_ptr<Index>(), user.stride(0), item.data_ptr<Index>(), item.stride(0), user.size(0)};
}

// launch(samples) with the samples' index type (the batch's int32, or int64), then the launch check.
template <typename Launch>
void launch_for_index_type(const at::Tensor& user, const at::Tensor& item, Launch launch) {
  if (user.scalar_type() == at::kInt) {
    launch(samples_of<int32_t>(user, item));
  } else {
    launch(samples_of<int64_t>(user, item));
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

unsigned blocks_for(int64_t count) { return static_cast<unsigned>((count + kWarpsPerBlock - 1) / kWarpsPerBlock); }

}  // namespace

std::tuple<at::Tensor, at::Tensor> mf_forward_cuda(const at::Tensor& user_factors, const at::Tensor& item_factors,
                                                   const at::Tensor& user_bias, const at::Tensor& item_bias,
                                                   const at::Tensor& user, const at::Tensor& item, double low,
                                                   double scale) {
  check_tables(user_factors, item_factors, user_bias, item_bias);
  check_index(user, user_factors, "the users");
  check_index(item, user_factors, "the items");
  TORCH_CHECK(user.size(0) == item.size(0) && user.scalar_type() == item.scalar_type(),
              "mf: as many users as items, of one index type");
  const c10::cuda::CUDAGuard guard(user_factors.device());
  const int64_t count = user.size(0);
  auto prediction = at::empty({count}, user_factors.options());
  auto sigmoid = at::empty({count}, user_factors.options());
  if (count == 0) return {prediction, sigmoid};
  const auto stream = at::cuda::getCurrentCUDAStream();
  const Tables t = tables_of(user_factors, item_factors, user_bias, item_bias);
  launch_for_index_type(user, item, [&](auto samples) {
    mf_forward<<<blocks_for(count), 32 * kWarpsPerBlock, 0, stream>>>(
        t, samples, static_cast<float>(low), static_cast<float>(scale), prediction.data_ptr<float>(),
        sigmoid.data_ptr<float>());
  });
  return {prediction, sigmoid};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> mf_backward_cuda(
    const at::Tensor& grad, const at::Tensor& sigmoid, const at::Tensor& user_factors,
    const at::Tensor& item_factors, int64_t user_bias_rows, int64_t item_bias_rows, const at::Tensor& user,
    const at::Tensor& item, double scale, int64_t padding_idx) {
  check_float_cuda(sigmoid, "mf", "the saved sigmoid");
  const auto upstream = grad.to(at::kFloat).contiguous();
  TORCH_CHECK(upstream.numel() == sigmoid.numel(), "mf: a gradient per prediction");
  check_device(upstream, sigmoid.device(), "mf", "the gradient");
  TORCH_CHECK(user.sizes() == sigmoid.sizes() && item.sizes() == sigmoid.sizes(), "mf: a user and an item per prediction");
  check_index(user, user_factors, "the users");
  check_index(item, user_factors, "the items");
  TORCH_CHECK(user.scalar_type() == item.scalar_type(), "mf: users and items of one index type");
  const c10::cuda::CUDAGuard guard(user_factors.device());
  auto grad_user_factors = at::zeros_like(user_factors);
  auto grad_item_factors = at::zeros_like(item_factors);
  auto grad_user_bias = at::zeros({user_bias_rows, 1}, user_factors.options());
  auto grad_item_bias = at::zeros({item_bias_rows, 1}, user_factors.options());
  const int64_t count = user.size(0);
  if (count > 0) {
    const auto stream = at::cuda::getCurrentCUDAStream();
    const Tables t = tables_of(user_factors, item_factors, at::Tensor(), at::Tensor());
    launch_for_index_type(user, item, [&](auto samples) {
      mf_backward<<<blocks_for(count), 32 * kWarpsPerBlock, 0, stream>>>(
          t, samples, upstream.data_ptr<float>(), sigmoid.data_ptr<float>(), static_cast<float>(scale), padding_idx,
          grad_user_factors.data_ptr<float>(), grad_item_factors.data_ptr<float>(), grad_user_bias.data_ptr<float>(),
          grad_item_bias.data_ptr<float>());
    });
  }
  return {grad_user_factors, grad_item_factors, grad_user_bias, grad_item_bias};
}

}  // namespace mlrec::ops::detail
