#include "mlrec/models/bst.h"

#include <torch/torch.h>

#include "mlrec/models/init.h"
#include "mlrec/ops/batch_norm_mish.h"
#include "mlrec/ops/dropout.h"
#include "mlrec/ops/embedding.h"
#include "mlrec/ops/feed_forward.h"
#include "mlrec/ops/layer_norm.h"
#include "mlrec/ops/linear.h"
#include "mlrec/ops/residual_layer_norm.h"
#include "mlrec/ops/short_attention.h"

namespace mlrec::models {
namespace {

// A Linear module's x W^T + b through models::linear (ATen's linear, or on CUDA mlrec's with
// its bias-gradient kernel), never the module's forward: the C++ frontend's Linear
// (torch::nn::functional::linear) multiplies inputs of more than two dimensions with matmul and
// then adds the bias in a separate broadcast kernel; ATen flattens them to one addmm, whose
// cuBLASLt epilogue adds the bias on CUDA. The separate adds cost the encoder's four projections
// a noticeable share of the step on an H200 and nothing on the CPU (BENCHMARKS.md, "Why each kernel exists").
torch::Tensor project(const torch::nn::Linear& layer, const torch::Tensor& x, bool use_kernels,
                      const ops::Bf16Copy& copy) {
  return ops::linear(x, layer->weight, layer->bias, use_kernels, copy);
}

// cuBLAS runs its fast GEMM kernels only where the rows of both operands are 16-byte aligned.
// With user features the MLP's input has 10 x 120 + 120 + 17 = 1,337 columns, and on an H200
// the first layer's three GEMMs ran on CUTLASS's unaligned ("align1") kernels (BENCHMARKS.md, "Why
// each kernel exists"). On CUDA, zero columns pad that input and the layer's weight to a
// multiple of 8: the same products, the same parameter (its gradient is the padded one's slice).
int64_t aligned_columns(int64_t features) { return (features + 7) / 8 * 8; }

}  // namespace


EncoderLayerImpl::EncoderLayerImpl(int64_t dim, int64_t heads, int64_t ff_dim, double dropout,
                                   KernelChoices kernels, std::shared_ptr<ops::Bf16Copies> copies)
    : dim_(dim), heads_(heads), dropout_(dropout), kernels_(kernels), copies_(std::move(copies)) {
  TORCH_CHECK(dim % heads == 0, "embedding dim ", dim, " is not divisible by ", heads, " heads");
  // Initialised as nn.MultiheadAttention does: xavier-uniform packed projection, zero biases.
  in_proj_weight_ = register_parameter("in_proj_weight", torch::empty({3 * dim, dim}));
  in_proj_bias_ = register_parameter("in_proj_bias", torch::zeros({3 * dim}));
  torch::nn::init::xavier_uniform_(in_proj_weight_);
  out_proj_ = register_module("out_proj", torch::nn::Linear(dim, dim));
  torch::nn::init::zeros_(out_proj_->bias);
  linear1_ = register_module("linear1", torch::nn::Linear(dim, ff_dim));
  linear2_ = register_module("linear2", torch::nn::Linear(ff_dim, dim));
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5)));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5)));
  if (copies_) {
    in_proj_copy_ = copies_->add(in_proj_weight_, in_proj_bias_);
    out_proj_copy_ = copies_->add(out_proj_->weight, out_proj_->bias);
    linear1_copy_ = copies_->add(linear1_->weight, linear1_->bias);
    linear2_copy_ = copies_->add(linear2_->weight, linear2_->bias);
  }
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& pad_mask) {
  const int64_t batch = x.size(0), length = x.size(1), head_dim = dim_ / heads_;
  const double p = is_training() ? dropout_ : 0.0;
  // [B, L, 3 * dim]: query, key, value, each heads x head_dim
  const bool cuda = x.is_cuda();
  const bool mlrec_linear = cuda && kernels_.linear_cuda;
  auto copy = [&](size_t index) { return copies_ ? (*copies_)[index] : ops::Bf16Copy{}; };
  auto packed = ops::linear(x, in_proj_weight_, in_proj_bias_, mlrec_linear, copy(in_proj_copy_));
  torch::Tensor attention;
  if (kernels_.short_attention && ops::short_attention_supports(packed, heads_)) {
    // kV2 answers in packed's type (bf16 under autocast), kV1 in float32
    attention = ops::short_attention(packed, pad_mask, heads_, p,
                                     kernels_.short_attention_v1 ? ops::ShortAttentionCuda::kV1
                                                                 : ops::ShortAttentionCuda::kV2);
  } else {
    // -> 3 x [B, heads, L, head_dim]
    auto qkv = packed.view({batch, length, 3, heads_, head_dim}).permute({2, 0, 3, 1, 4});
    // Boolean attention masks mean "may attend": every query sees the non-padded keys. The
    // target token is never padded, so no row of the mask is empty.
    auto attend = pad_mask.logical_not().view({batch, 1, 1, length});
    attention = at::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attend, p);
    attention = attention.transpose(1, 2).reshape({batch, length, dim_});
  }
  const bool mlrec_norm = cuda && kernels_.layer_norm_cuda;
  // LayerNorm(residual + dropout(sublayer)): one op, fused on CUDA with model.residual_norm
  auto residual_norm = [&](const torch::nn::LayerNorm& n, const torch::Tensor& residual, const torch::Tensor& sublayer) {
    return ops::dropout_add_layer_norm(residual, sublayer, dropout_, is_training(), n->weight, n->bias,
                                       n->options.eps(), cuda && kernels_.residual_norm_cuda, mlrec_norm);
  };
  auto h = residual_norm(norm1_, x, project(out_proj_, attention, mlrec_linear, copy(out_proj_copy_)));
  auto ff = project(linear2_,
                    ops::linear_gelu_dropout(h, linear1_->weight, linear1_->bias, p, is_training(),
                                             kernels_.fused_feed_forward, mlrec_linear, copy(linear1_copy_)),
                    mlrec_linear, copy(linear2_copy_));
  return residual_norm(norm2_, h, ff);
}

KernelChoices KernelChoices::from(const config::Config::Model& m) {
  KernelChoices k;
  k.short_attention = m.attention != "torch";
  k.short_attention_v1 = m.attention == "auto" || m.attention == "short_v1";
  k.fused_feed_forward = m.feed_forward != "torch";
  k.layer_norm_cuda = m.layer_norm != "torch";
  k.batch_norm_mish = m.batch_norm != "torch";
  k.linear_cuda = m.linear != "torch";
  k.residual_norm_cuda = m.residual_norm == "mlrec";
  k.embedding_backward_cuda = m.embedding_backward == "mlrec";
  return k;
}

BehaviorSequenceTransformer::BehaviorSequenceTransformer(const config::Config::Model& o, const data::DatasetInfo& data)
    : use_ratings_(o.name != "seq"),
      use_user_features_(o.name == "seq_features"),
      mlp_dropout_(o.mlp_dropout),
      kernels_(KernelChoices::from(o)),
      range_(RatingRange::from(data)),
      copies_(std::make_shared<ops::Bf16Copies>()) {
  const double std = o.embedding_init_std;
  auto embedding = [&](const char* name, int64_t rows, int64_t dim, int64_t padding_idx) {
    auto options = torch::nn::EmbeddingOptions(rows, dim);
    if (padding_idx >= 0) options.padding_idx(padding_idx);
    auto e = register_module(name, torch::nn::Embedding(options));
    init_embedding(e->weight, std, padding_idx);
    return e;
  };
  movie_ = embedding("movie", data.num_movies + 1, o.embedding_dim, 0);
  user_ = embedding("user", data.num_users + 1, o.embedding_dim, -1);
  position_ = embedding("position", data.sequence_length, o.embedding_dim, -1);
  if (use_ratings_) rating_ = embedding("rating", data.num_rating_levels + 1, o.embedding_dim, 0);
  int64_t extra = 0;
  if (use_user_features_ && data.has_user_features) {
    // Tables have a spare row beyond the codes in use, as the study's do.
    sex_ = embedding("sex", 3, o.sex_dim, -1);
    age_ = embedding("age", 8, o.age_dim, -1);
    occupation_ = embedding("occupation", 22, o.occupation_dim, -1);
    extra = o.sex_dim + o.age_dim + o.occupation_dim;
  }
  if (use_user_features_ && data.user_side_codes.defined()) {
    // A user table's features go where ML-1M's demographics go: into the MLP's input.
    user_side_codes_ = register_buffer("user_side_codes", data.user_side_codes.clone());
    for (size_t f = 0; f < data.user_side_sizes.size(); ++f) {
      user_side_.push_back(embedding(("user_feature" + std::to_string(f)).c_str(), data.user_side_sizes[f], o.feature_dim, 0));
      extra += o.feature_dim;
    }
  }
  if (use_user_features_ && data.item_side_codes.defined()) {
    // An item table's features are added to the item's embedding at every position, as BST adds
    // an item's "other features" to its token.
    item_side_codes_ = register_buffer("item_side_codes", data.item_side_codes.clone());
    for (size_t f = 0; f < data.item_side_sizes.size(); ++f) {
      item_side_.push_back(embedding(("item_feature" + std::to_string(f)).c_str(), data.item_side_sizes[f], o.embedding_dim, 0));
    }
  }
  for (int64_t i = 0; i < o.encoder_layers; ++i) {
    encoder_.push_back(register_module("encoder" + std::to_string(i),
                                       EncoderLayer(o.embedding_dim, o.heads, o.ff_dim, o.dropout, kernels_, copies_)));
  }
  int64_t in = int64_t{data.sequence_length} * o.embedding_dim + o.embedding_dim + extra;
  for (size_t i = 0; i < o.mlp_dims.size(); ++i) {
    hidden_.push_back(register_module("mlp_linear" + std::to_string(i), torch::nn::Linear(in, o.mlp_dims[i])));
    norms_.push_back(register_module("mlp_norm" + std::to_string(i), torch::nn::BatchNorm1d(o.mlp_dims[i])));
    hidden_copies_.push_back(copies_->add(hidden_[i]->weight, hidden_[i]->bias, i == 0 ? aligned_columns(in) : 0));
    in = o.mlp_dims[i];
  }
  output_ = register_module("mlp_output", torch::nn::Linear(in, 1));
  output_copy_ = copies_->add(output_->weight, output_->bias);
  if (o.linear_init == "xavier_uniform") {
    torch::NoGradGuard no_grad;
    for (auto& module : modules(/*include_self=*/false)) {
      if (auto* linear = module->as<torch::nn::Linear>()) {
        torch::nn::init::xavier_uniform_(linear->weight);
        torch::nn::init::zeros_(linear->bias);
      }
    }
  }
}

torch::Tensor BehaviorSequenceTransformer::forward(const data::Batch& batch) {
  const int64_t length = batch.movies.size(1);
  const auto backward = kernels_.embedding_backward_cuda ? ops::EmbeddingBackward::kMlrec
                                                         : ops::EmbeddingBackward::kIndexAdd;
  auto lookup = [&](torch::nn::Embedding& table, const torch::Tensor& indices) {
    return ops::lookup(table, indices, backward);
  };
  auto x = lookup(movie_, batch.movies);  // [B, L, dim]
  copies_->refresh(ops::bf16_copies_apply(x, kernels_.linear_cuda));
  if (!item_side_.empty()) {
    auto codes = item_side_codes_.index_select(0, batch.movies.flatten().to(torch::kInt64))
                     .view({batch.movies.size(0), length, -1});
    for (size_t f = 0; f < item_side_.size(); ++f) x = x + lookup(item_side_[f], codes.select(2, int64_t(f)));
  }
  // Positions 0..L-1 index the first L rows of the table: a slice, not a lookup.
  const auto& positions = position_->weight;
  if (use_ratings_) {
    // History tokens get positions 0..L-2 and their rating; the target token gets neither
    // (its rating is what we predict).
    auto history = x.narrow(1, 0, length - 1) + positions.narrow(0, 0, length - 1) +
                   lookup(rating_, batch.levels.narrow(1, 0, length - 1));
    x = torch::cat({history, x.narrow(1, length - 1, 1)}, 1);
  } else {
    x = x + positions.narrow(0, 0, length);
  }
  for (auto& layer : encoder_) x = layer(x, batch.pad_mask);

  std::vector<torch::Tensor> parts = {x.flatten(1), lookup(user_, batch.user)};
  if (sex_) {
    parts.push_back(lookup(sex_, batch.features.select(1, 0)));
    parts.push_back(lookup(age_, batch.features.select(1, 1)));
    parts.push_back(lookup(occupation_, batch.features.select(1, 2)));
  }
  if (!user_side_.empty()) {
    auto codes = user_side_codes_.index_select(0, batch.user.to(torch::kInt64));
    for (size_t f = 0; f < user_side_.size(); ++f) parts.push_back(lookup(user_side_[f], codes.select(1, int64_t(f))));
  }
  // On CUDA the MLP's input and its first weight zero-padded to aligned rows (aligned_columns);
  // a bf16 copy of that weight is kept at the padded width.
  const int64_t features = hidden_.empty() ? 0 : hidden_[0]->weight.size(1);
  const int64_t padding = x.is_cuda() ? aligned_columns(features) - features : 0;
  if (padding > 0) parts.push_back(torch::zeros({x.size(0), padding}, parts.front().options()));
  auto h = torch::cat(parts, 1);
  const bool mlrec_linear = x.is_cuda() && kernels_.linear_cuda;
  for (size_t i = 0; i < hidden_.size(); ++i) {
    const auto copy = (*copies_)[hidden_copies_[i]];
    auto z = i == 0 && padding > 0 && !copy.weight.defined()
                 ? ops::linear(h, at::constant_pad_nd(hidden_[0]->weight, {0, padding}), hidden_[0]->bias, mlrec_linear)
                 : project(hidden_[i], h, mlrec_linear, copy);
    h = ops::batch_norm_mish(z, norms_[i], kernels_.batch_norm_mish);
    if (i == 1) h = ops::dropout(h, mlp_dropout_, is_training());  // after the 2nd block, as the study
  }
  auto score = torch::sigmoid(project(output_, h, mlrec_linear, (*copies_)[output_copy_])).squeeze(1);
  return score * (range_.high - range_.low) + range_.low;
}

}  // namespace mlrec::models
