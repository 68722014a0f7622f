#pragma once

#include <vector>

#include "mlrec/models/model.h"

namespace mlrec::models {

/// Which of mlrec's own kernels the sequence model runs instead of torch's ops: short attention
/// (models/short_attention.h; model.attention) and the fused feed-forward activation
/// (models/feed_forward.h; model.feed_forward) on the CPU and CUDA, and on CUDA only LayerNorm
/// (models/layer_norm.h; model.layer_norm), the MLP's BatchNorm + Mish (models/batch_norm_mish.h;
/// model.batch_norm) and the linear layers' bias gradients (models/linear.h; model.linear). Each
/// applies only where it supports the inputs.
/// The defaults are those of model.* = auto: all of them.
struct KernelChoices {
  bool short_attention = true;
  bool fused_feed_forward = true;
  bool layer_norm_cuda = true;
  bool batch_norm_mish_cuda = true;
  bool linear_cuda = true;
};

struct BehaviorSequenceTransformerOptions {
  int64_t num_users = 0, num_movies = 0;
  int64_t num_rating_levels = 5;      // rating embedding has levels + 1 rows (0 = padding)
  int64_t sequence_length = 10;
  int64_t embedding_dim = 120, heads = 12, ff_dim = 2048, encoder_layers = 1;
  double dropout = 0.1;
  std::vector<int64_t> mlp_dims = {1024, 512, 256};
  double mlp_dropout = 0.2;
  bool use_ratings = false;           // add rating embeddings to the history tokens
  bool use_user_features = false;     // concatenate sex / age / occupation embeddings
  int64_t sex_dim = 2, age_dim = 4, occupation_dim = 11;
  double embedding_init_std = 1.0;
  bool xavier_linear_init = false;    // xavier-uniform weights and zero biases for the Linear layers
  KernelChoices kernels;
  RatingRange range;
};

/// One post-norm transformer encoder layer, as nn.TransformerEncoderLayer(batch_first, gelu):
/// self-attention with a key padding mask, then a GELU feed-forward, each with dropout and a
/// residual followed by LayerNorm. Attention runs through mlrec's kernels for short windows
/// (models/short_attention.h) or, with model.attention = torch, scaled_dot_product_attention:
/// with the study's head dimension (120 / 12 = 10) torch takes its math path (batched GEMMs,
/// softmax, dropout as separate kernels); zero-padding heads to 12 or 16 so that its fused
/// kernels accept them was measured slower on an H200 (fp32 memory-efficient attention 1.1 ms
/// per step against ~0.25 ms; bf16 went to cuDNN's, also slower), see BENCHMARKS.md.
class EncoderLayerImpl : public torch::nn::Module {
 public:
  EncoderLayerImpl(int64_t dim, int64_t heads, int64_t ff_dim, double dropout, KernelChoices kernels = {});
  /// x: [B, L, dim]; pad_mask: bool [B, L], true where the token is padding.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pad_mask);

 private:
  int64_t dim_, heads_;
  double dropout_;
  KernelChoices kernels_;
  torch::Tensor in_proj_weight_, in_proj_bias_;
  torch::nn::Linear out_proj_{nullptr}, linear1_{nullptr}, linear2_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
};
TORCH_MODULE(EncoderLayer);

/// The Behavior Sequence Transformer of the study (Chen et al. 2019): the window of movies
/// (plus positions, optionally ratings) through a transformer encoder, flattened, concatenated
/// with the user embedding (optionally user features), then an MLP with BatchNorm and Mish.
class BehaviorSequenceTransformer : public RatingModel {
 public:
  explicit BehaviorSequenceTransformer(const BehaviorSequenceTransformerOptions& options);
  torch::Tensor forward(const data::Batch& batch) override;

 private:
  BehaviorSequenceTransformerOptions options_;
  torch::nn::Embedding movie_{nullptr}, user_{nullptr}, position_{nullptr}, rating_{nullptr};
  torch::nn::Embedding sex_{nullptr}, age_{nullptr}, occupation_{nullptr};
  std::vector<EncoderLayer> encoder_;
  std::vector<torch::nn::Linear> hidden_;
  std::vector<torch::nn::BatchNorm1d> norms_;
  torch::nn::Linear output_{nullptr};
};

}  // namespace mlrec::models
