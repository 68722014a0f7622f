#include "mlrec/models/registry.h"

#include <torch/torch.h>

#include "mlrec/common/error.h"
#include "mlrec/models/baseline.h"
#include "mlrec/models/bayes_svdpp.h"
#include "mlrec/models/bst.h"
#include "mlrec/models/item_knn.h"
#include "mlrec/models/mf.h"
#include "mlrec/models/mf_history.h"

namespace mlrec::models {

const std::vector<std::string>& model_names() {
  // The choices of model.name, declared once with the key (src/config/config.cpp).
  return config::find_param("model.name")->allowed;
}

bool needs_user_features(const std::string& model_name) { return model_name == "seq_features"; }

bool fitted_without_gradients(const std::string& model_name) {
  return model_name == "baseline" || model_name == "item_knn" || model_name == "bayes_svdpp";
}

RatingModelPtr make_model(const config::Config::Model& m, const data::DatasetInfo& info) {
  const bool side_tables = info.user_side_codes.defined() || info.item_side_codes.defined();
  if (needs_user_features(m.name) && !info.has_user_features && !side_tables) {
    throw ConfigError::for_key("model.name", "'" + m.name +
                               "' needs user features (sex, age, occupation), which this release "
                               "has not (only MovieLens-1M and 100K have them), or a user or item table of "
                               "your own data (data.interactions.user_table, item_table)");
  }
  if (m.name == "baseline") return std::make_shared<MedianBaseline>();
  if (m.name == "mf") return std::make_shared<MatrixFactorization>(m, info);
  if (m.name == "item_knn") return std::make_shared<ItemNeighbourhood>(m, info);
  if (m.name == "bayes_svdpp") return std::make_shared<BayesianSvdpp>(m, info);
  if (m.name == "mf_history") return std::make_shared<MatrixFactorizationWithHistory>(m, info);
  if (m.name == "seq" || m.name == "seq_ratings" || m.name == "seq_features") {
    return std::make_shared<BehaviorSequenceTransformer>(m, info);
  }
  throw ConfigError::for_key("model.name", "unknown model '" + m.name + "'");
}

}  // namespace mlrec::models
