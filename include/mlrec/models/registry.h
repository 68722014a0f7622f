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
/// Whether the model is fitted in closed form (the median baseline, item_knn): the same model
/// for every seed.
bool fitted_in_closed_form(const std::string& model_name);

/// Builds the named model sized for the data. A model that needs user features on a release
/// without them is a ConfigError naming model.name.
RatingModelPtr make_model(const config::Config::Model& options, const data::DatasetInfo& info);

}  // namespace mlrec::models
