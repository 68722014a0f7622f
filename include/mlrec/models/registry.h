// Model construction by name from the configuration: the one place that knows the models.
#pragma once

#include <string>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/models/model.h"

namespace mlrec::models {

/// The model names accepted in model.name.
const std::vector<std::string>& model_names();
/// Whether the model needs user features (sex, age, occupation) in the data.
bool needs_user_features(const std::string& model_name);
/// Whether the model is fitted by one call to fit() rather than trained by gradient steps: the
/// median baseline and item_knn (closed form: the same model for every seed) and bayes_svdpp
/// (Gibbs sampling: seeded by train.seed). A blend trains such a member once per seed.
bool fitted_without_gradients(const std::string& model_name);

/// Builds the named model sized for the data. A model that needs user features on a release
/// without them is a ConfigError naming model.name.
RatingModelPtr make_model(const config::Config::Model& options, const data::DatasetInfo& info);

}  // namespace mlrec::models
