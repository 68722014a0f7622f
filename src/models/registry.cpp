#include "mlrec/models/registry.h"

#include <torch/torch.h>

#include "mlrec/common/error.h"
#include "mlrec/models/baseline.h"
#include "mlrec/models/bst.h"
#include "mlrec/models/mf.h"

namespace mlrec::models {

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {"baseline", "mf", "seq", "seq_ratings", "seq_features"};
  return names;
}

bool needs_user_features(const std::string& model_name) { return model_name == "seq_features"; }

RatingModelPtr make_model(const config::Config::Model& m, const data::DatasetInfo& info) {
  if (needs_user_features(m.name) && !info.has_user_features) {
    throw ConfigError::for_key("model.name", "'" + m.name +
                               "' needs user features (sex, age, occupation), which this release "
                               "has not (only MovieLens-1M and 100K have them)");
  }
  const RatingRange range = RatingRange::from(info);
  if (m.name == "baseline") return std::make_shared<MedianBaseline>();
  if (m.name == "mf") {
    MatrixFactorizationOptions o;
    o.num_users = info.num_users;
    o.num_movies = info.num_movies;
    o.factors = m.factors;
    o.embedding_init_std = m.embedding_init_std;
    o.bias_init_std = m.bias_init_std;
    o.range = range;
    return std::make_shared<MatrixFactorization>(o);
  }
  if (m.name == "seq" || m.name == "seq_ratings" || m.name == "seq_features") {
    BehaviorSequenceTransformerOptions o;
    o.num_users = info.num_users;
    o.num_movies = info.num_movies;
    o.num_rating_levels = info.num_rating_levels;
    o.sequence_length = info.sequence_length;
    o.embedding_dim = m.embedding_dim;
    o.heads = m.heads;
    o.ff_dim = m.ff_dim;
    o.encoder_layers = m.encoder_layers;
    o.dropout = m.dropout;
    o.mlp_dims.assign(m.mlp_dims.begin(), m.mlp_dims.end());
    o.mlp_dropout = m.mlp_dropout;
    o.use_ratings = m.name != "seq";
    o.use_user_features = m.name == "seq_features";
    o.sex_dim = m.sex_dim;
    o.age_dim = m.age_dim;
    o.occupation_dim = m.occupation_dim;
    o.embedding_init_std = m.embedding_init_std;
    o.xavier_linear_init = m.linear_init == "xavier_uniform";
    // auto: mlrec's kernels wherever they were measured faster than torch's ops, which is
    // everywhere they exist (the CPU: 2-core machine; CUDA: H200, BENCHMARKS.md).
    o.kernels.short_attention = m.attention != "torch";
    o.kernels.fused_feed_forward = m.feed_forward != "torch";
    o.kernels.layer_norm_cuda = m.layer_norm != "torch";
    o.kernels.batch_norm_mish_cuda = m.batch_norm != "torch";
    o.kernels.linear_cuda = m.linear != "torch";
    o.range = range;
    return std::make_shared<BehaviorSequenceTransformer>(o);
  }
  throw ConfigError::for_key("model.name", "unknown model '" + m.name + "'");
}

}  // namespace mlrec::models
