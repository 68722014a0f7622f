// The parameter table behind config::param_specs(); internal to src/config.
#pragma once

#include <vector>

#include "mlrec/config/config.h"

namespace mlrec::config {

/// One ParamSpec per configuration key, in section order (data, model, train, output, dist).
std::vector<ParamSpec> build_param_table();

}  // namespace mlrec::config
