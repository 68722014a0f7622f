#pragma once

#include <memory>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/models/model.h"

namespace mlrec::ops {
class Bf16Copies;  // ops/linear.h
}

namespace mlrec::models {

/// Which of mlrec's own kernels the sequence model runs instead of torch's ops: short attention
/// (ops/short_attention.h; model.attention), the fused feed-forward activation
/// (ops/feed_forward.h; model.feed_forward) and the MLP's BatchNorm + Mish (ops/batch_norm_mish.h;
/// model.batch_norm: on CUDA one kernel each way, on the CPU mlrec's Mish after torch's
/// BatchNorm) on the CPU and CUDA, and on CUDA only LayerNorm (ops/layer_norm.h;
/// model.layer_norm), the linear layers' bias gradients (ops/linear.h; model.linear) and the
/// residual steps' dropout + add + LayerNorm as one kernel (ops/residual_layer_norm.h;
/// model.residual_norm). Each applies only where it supports the inputs.
struct KernelChoices {
  bool short_attention = true;
  bool short_attention_v1 = true;  // on CUDA the first version of the kernels (ops::ShortAttentionCuda)
  bool fused_feed_forward = true;
  bool layer_norm_cuda = true;
  bool batch_norm_mish = true;
  bool linear_cuda = true;
  bool residual_norm_cuda = false;
  bool embedding_backward_cuda = false;  // the lookups' backward by mlrec's kernel (ops/embedding.h)
  /// From model.*: auto means mlrec's kernels wherever they were measured faster than torch's
  /// ops, which is everywhere they exist (the CPU: 2-core machine; CUDA: H200, BENCHMARKS.md),
  /// but for the residual steps' and the embeddings' kernels, which no GPU has run yet; and on
  /// CUDA the attention's first version, until a GPU has measured its rewrite.
  static KernelChoices from(const config::Config::Model& options);
};

/// One post-norm transformer encoder layer, as nn.TransformerEncoderLayer(batch_first, gelu):
/// self-attention with a key padding mask, then a GELU feed-forward, each with dropout and a
/// residual followed by LayerNorm. Attention runs through mlrec's kernels for short windows
/// (ops/short_attention.h) or, with model.attention = torch, scaled_dot_product_attention:
/// with the study's head dimension (120 / 12 = 10) torch takes its math path (batched GEMMs,
/// softmax, dropout as separate kernels); zero-padding heads to 12 or 16 so that its fused
/// kernels accept them was measured slower on an H200 (bf16 went to cuDNN's, also slower):
/// BENCHMARKS.md, "Why each kernel exists".
class EncoderLayerImpl : public torch::nn::Module {
 public:
  /// `copies`, where given, takes the layer's four linear layers (the model refreshes them).
  EncoderLayerImpl(int64_t dim, int64_t heads, int64_t ff_dim, double dropout, KernelChoices kernels = {},
                   std::shared_ptr<ops::Bf16Copies> copies = nullptr);
  /// x: [B, L, dim]; pad_mask: bool [B, L], true where the token is padding.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pad_mask);

 private:
  int64_t dim_, heads_;
  double dropout_;
  KernelChoices kernels_;
  torch::Tensor in_proj_weight_, in_proj_bias_;
  torch::nn::Linear out_proj_{nullptr}, linear1_{nullptr}, linear2_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  std::shared_ptr<ops::Bf16Copies> copies_;
  size_t in_proj_copy_ = 0, out_proj_copy_ = 0, linear1_copy_ = 0, linear2_copy_ = 0;  // in copies_
};
TORCH_MODULE(EncoderLayer);

/// The Behavior Sequence Transformer of the study (Chen et al. 2019): the window of movies
/// (plus positions, optionally ratings) through a transformer encoder, flattened, concatenated
/// with the user embedding (optionally user features), then an MLP with BatchNorm and Mish.
/// model.name chooses the variant: seq (movie ids), seq_ratings (+ rating embeddings added to
/// the history tokens), seq_features (+ sex / age / occupation embeddings).
class BehaviorSequenceTransformer : public RatingModel {
 public:
  /// Sized by the configuration (model.*) and the data (users, movies, rating levels, window).
  BehaviorSequenceTransformer(const config::Config::Model& options, const data::DatasetInfo& data);
  torch::Tensor forward(const data::Batch& batch) override;

 private:
  bool use_ratings_, use_user_features_;
  double mlp_dropout_;
  KernelChoices kernels_;
  RatingRange range_;
  torch::nn::Embedding movie_{nullptr}, user_{nullptr}, position_{nullptr}, rating_{nullptr};
  torch::nn::Embedding sex_{nullptr}, age_{nullptr}, occupation_{nullptr};
  // Side tables of your own data (seq_features): per dense user / item the feature codes, as
  // buffers (so that best.pt and an export carry them), and one embedding per feature.
  torch::Tensor user_side_codes_, item_side_codes_;
  std::vector<torch::nn::Embedding> user_side_, item_side_;
  std::vector<EncoderLayer> encoder_;
  std::vector<torch::nn::Linear> hidden_;
  std::vector<torch::nn::BatchNorm1d> norms_;
  torch::nn::Linear output_{nullptr};
  // Every linear layer's bf16 copies (refreshed at the start of each forward under bf16), the
  // MLP's first at its zero-padded width; hidden_copies_ and output_copy_ index the MLP's.
  std::shared_ptr<ops::Bf16Copies> copies_;
  std::vector<size_t> hidden_copies_;
  size_t output_copy_ = 0;
};

}  // namespace mlrec::models
