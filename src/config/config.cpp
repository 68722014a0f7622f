#include "mlrec/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include "mlrec/common/error.h"
#include "mlrec/common/json.h"

namespace mlrec::config {
namespace {

// ---------------------------------------------------------------------------------------------
// Value formatting

// The shortest "%g" rendering that reads back as exactly `v` ("0.01", "1e-8", "10000").
std::string format_double(double v) {
  char buf[64];
  int precision = 1;
  for (; precision < 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // Write whole numbers below 1e15 without an exponent ("10000", not "1e+04").
  std::snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
  const int exponent = std::atoi(std::strchr(buf, 'e') + 1);
  if (exponent >= precision && exponent < 15) precision = exponent + 1;
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  std::string s = buf;
  // "1e-08" -> "1e-8", "1e+20" -> "1e+20" stays readable; drop exponent leading zeros only.
  const auto e = s.find('e');
  if (e != std::string::npos && e + 2 < s.size()) {
    size_t digits = e + 2;  // after the sign
    size_t first_nonzero = digits;
    while (first_nonzero + 1 < s.size() && s[first_nonzero] == '0') ++first_nonzero;
    s.erase(digits, first_nonzero - digits);
  }
  return s;
}

std::string format_int_list(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(v[i]);
  }
  return s + "]";
}

std::string format_value(const ParamValue& value) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_double(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<int>& v) const { return format_int_list(v); }
  };
  return std::visit(Visitor{}, value);
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

// ---------------------------------------------------------------------------------------------
// The parameter table

template <class T>
constexpr ParamType param_type_of() {
  if constexpr (std::is_same_v<T, bool>) return ParamType::kBool;
  else if constexpr (std::is_same_v<T, int>) return ParamType::kInt;
  else if constexpr (std::is_same_v<T, int64_t>) return ParamType::kInt64;
  else if constexpr (std::is_same_v<T, double>) return ParamType::kDouble;
  else if constexpr (std::is_same_v<T, std::string>) return ParamType::kString;
  else {
    static_assert(std::is_same_v<T, std::vector<int>>, "unsupported config field type");
    return ParamType::kIntList;
  }
}

template <class T>
ParamValue to_param_value(const T& v) {
  if constexpr (std::is_same_v<T, int>) return ParamValue(static_cast<int64_t>(v));
  else return ParamValue(v);
}

template <class T>
T from_param_value(const ParamValue& v) {
  if constexpr (std::is_same_v<T, int>) return static_cast<int>(std::get<int64_t>(v));
  else return std::get<T>(v);
}

// Chained setters for the table below.
struct Spec {
  ParamSpec s;
  Spec&& ge(double v) && { s.min = v; s.min_exclusive = false; return std::move(*this); }
  Spec&& gt(double v) && { s.min = v; s.min_exclusive = true; return std::move(*this); }
  Spec&& le(double v) && { s.max = v; s.max_exclusive = false; return std::move(*this); }
  Spec&& lt(double v) && { s.max = v; s.max_exclusive = true; return std::move(*this); }
  Spec&& one_of(std::vector<std::string> v) && { s.allowed = std::move(v); return std::move(*this); }
  Spec&& may_be_empty() && { s.allow_empty = true; return std::move(*this); }
};

// `field` is a generic lambda returning a reference to the field in a (const) Config.
template <class Field>
Spec param(const char* key, Field field, const char* help) {
  using T = std::remove_reference_t<decltype(field(std::declval<Config&>()))>;
  Spec spec;
  spec.s.key = key;
  spec.s.type = param_type_of<T>();
  spec.s.help = help;
  spec.s.get = [field](const Config& c) -> ParamValue { return to_param_value<T>(field(c)); };
  spec.s.set = [field](Config& c, const ParamValue& v) { field(c) = from_param_value<T>(v); };
  return spec;
}

// The key is spelled from the field path, so the two can never disagree.
#define MLREC_PARAM(section, name, help) \
  param(#section "." #name, [](auto& c) -> auto& { return c.section.name; }, help)

std::vector<ParamSpec> build_specs() {
  std::vector<Spec> t;
  // data
  t.push_back(MLREC_PARAM(data, dir, "MovieLens release folder: ML-1M (ratings.dat), ML-100K (u.data) or a CSV release (ratings.csv), detected from its files."));
  t.push_back(MLREC_PARAM(data, valid_per_user,
                          "Ratings per user held out for validation.").ge(1));
  t.push_back(MLREC_PARAM(data, test_per_user,
                          "Ratings per user held out for test, after the validation ones (0 = the "
                          "study's protocol: select and report on validation).").ge(0));
  t.push_back(MLREC_PARAM(data, min_ratings_per_user,
                          "Drop users with fewer ratings than this (0 = keep all).").ge(0));
  t.push_back(MLREC_PARAM(data, sequence_length,
                          "Movies per user sequence window (seq models).").ge(2));
  // model
  t.push_back(MLREC_PARAM(model, name, "Model to train.")
                  .one_of({"baseline", "mf", "seq", "seq_ratings", "seq_features"}));
  t.push_back(MLREC_PARAM(model, factors, "Matrix factorization latent factors (mf).").ge(1));
  t.push_back(MLREC_PARAM(model, embedding_init_std,
                          "Std of the N(0, std) init of every embedding (PyTorch's default: 1).")
                  .gt(0));
  t.push_back(MLREC_PARAM(model, bias_init_std,
                          "Std of the N(0, std) init of MF's user and item biases (0 = zeros).").ge(0));
  t.push_back(MLREC_PARAM(model, linear_init,
                          "Init of the sequence models' Linear layers: default (PyTorch's "
                          "kaiming-uniform) or xavier_uniform.").one_of({"default", "xavier_uniform"}));
  t.push_back(MLREC_PARAM(model, attention,
                          "Attention of the sequence models: short (mlrec's kernels for windows of <= "
                          "32 tokens: a fused loop per sample on the CPU, fused kernels on CUDA where "
                          "built), torch (scaled_dot_product_attention), or auto (the default): mlrec's, "
                          "measured faster on the CPU and on an H200.").one_of({"auto", "torch", "short"}));
  t.push_back(MLREC_PARAM(model, feed_forward,
                          "The feed-forward's bias + GELU + dropout in the sequence models: fused (one "
                          "pass each way: on the CPU in float32, on CUDA in float32 or under bf16 "
                          "autocast where mlrec's kernels are built), torch (its ops), or auto (the default): "
                          "fused, measured faster on the CPU and on an H200.").one_of({"auto", "torch", "fused"}));
  t.push_back(MLREC_PARAM(model, layer_norm,
                          "The sequence models' LayerNorm: mlrec (mlrec's CUDA kernels for rows of <= 256 "
                          "float32 features, where built; torch's elsewhere), torch, or auto (the "
                          "default): mlrec, measured faster on an H200.").one_of({"auto", "torch", "mlrec"}));
  t.push_back(MLREC_PARAM(model, batch_norm,
                          "The sequence models' MLP BatchNorm + Mish in training: mlrec (one CUDA kernel "
                          "each way for float32 or bf16 activations, where built; torch's elsewhere), torch, "
                          "or auto (the default): mlrec, measured faster on an H200.")
                  .one_of({"auto", "torch", "mlrec"}));
  t.push_back(MLREC_PARAM(model, linear,
                          "The sequence models' linear layers: mlrec (on CUDA in float32 or under bf16 "
                          "autocast, where built: the bias gradients by mlrec's column-sum kernel; under bf16 "
                          "the float32 gradients straight from cuBLAS's float accumulators), "
                          "torch (ATen's linear), or auto (the default): mlrec, measured faster on an "
                          "H200.").one_of({"auto", "torch", "mlrec"}));
  t.push_back(MLREC_PARAM(model, embedding_dim,
                          "Movie/position embedding size of the sequence models; divisible by "
                          "model.heads.").ge(1));
  t.push_back(MLREC_PARAM(model, heads, "Transformer attention heads.").ge(1));
  t.push_back(MLREC_PARAM(model, ff_dim, "Transformer feed-forward hidden size.").ge(1));
  t.push_back(MLREC_PARAM(model, encoder_layers, "Transformer encoder layers.").ge(1));
  t.push_back(MLREC_PARAM(model, dropout, "Transformer dropout probability.").ge(0).lt(1));
  t.push_back(MLREC_PARAM(model, mlp_dims,
                          "Hidden sizes of the MLP head, e.g. [1024, 512, 256].").ge(1));
  t.push_back(MLREC_PARAM(model, mlp_dropout,
                          "Dropout after the 2nd hidden block of the MLP head.").ge(0).lt(1));
  t.push_back(MLREC_PARAM(model, sex_dim, "User sex embedding size (seq_features).").ge(1));
  t.push_back(MLREC_PARAM(model, age_dim, "User age-group embedding size (seq_features).").ge(1));
  t.push_back(MLREC_PARAM(model, occupation_dim,
                          "User occupation embedding size (seq_features).").ge(1));
  // train
  t.push_back(MLREC_PARAM(train, epochs, "Training epochs.").ge(1));
  t.push_back(MLREC_PARAM(train, batch_size, "Global training batch size: all ranks together; each rank takes batch_size / world size.").ge(1));
  t.push_back(MLREC_PARAM(train, seed, "Random seed (init, shuffling, dropout).").ge(0));
  t.push_back(MLREC_PARAM(train, lr, "Learning rate (the peak rate under onecycle).").gt(0));
  t.push_back(MLREC_PARAM(train, weight_decay, "Optimizer weight decay.").ge(0));
  t.push_back(MLREC_PARAM(train, beta1, "Optimizer beta1 (cycled when train.cycle_momentum).").ge(0).lt(1));
  t.push_back(MLREC_PARAM(train, beta2, "Optimizer beta2.").ge(0).lt(1));
  t.push_back(MLREC_PARAM(train, eps, "Optimizer epsilon.").gt(0));
  t.push_back(MLREC_PARAM(train, schedule, "Learning-rate schedule.").one_of({"onecycle", "constant"}));
  t.push_back(MLREC_PARAM(train, pct_start,
                          "onecycle: fraction of the steps spent increasing the rate.").gt(0).lt(1));
  t.push_back(MLREC_PARAM(train, div_factor, "onecycle: initial rate = lr / div_factor.").gt(0));
  t.push_back(MLREC_PARAM(train, final_div_factor,
                          "onecycle: final rate = initial rate / final_div_factor.").gt(0));
  t.push_back(MLREC_PARAM(train, cycle_momentum,
                          "onecycle: cycle beta1 inversely to the rate, between base_momentum and "
                          "max_momentum."));
  t.push_back(MLREC_PARAM(train, base_momentum, "onecycle: lowest beta1.").ge(0).lt(1));
  t.push_back(MLREC_PARAM(train, max_momentum, "onecycle: highest beta1.").ge(0).lt(1));
  t.push_back(MLREC_PARAM(train, patience,
                          "Stop after this many epochs without improvement (0 = no early "
                          "stopping).").ge(0));
  t.push_back(MLREC_PARAM(train, early_stopping_threshold,
                          "Early stopping: an epoch improves only when validation MAE falls by more than this.").ge(0));
  t.push_back(MLREC_PARAM(train, max_steps_per_epoch,
                          "Cap on the optimizer steps per epoch (0 = no cap); a cap also "
                          "shortens the schedule.").ge(0));
  t.push_back(MLREC_PARAM(train, eval_batch_size, "Evaluation batch size.").ge(1));
  t.push_back(MLREC_PARAM(train, device, "Compute device (auto: cuda when available, else cpu).")
                  .one_of({"auto", "cpu", "cuda"}));
  t.push_back(MLREC_PARAM(train, threads, "Torch intra-op threads (0 = all cores).").ge(0));
  t.push_back(MLREC_PARAM(train, precision, "Matrix math: fp32 (strict), tf32 (TF32 tensor cores on CUDA), bf16 (bf16 autocast).").one_of({"fp32", "tf32", "bf16"}));
  t.push_back(MLREC_PARAM(train, accumulation_steps,
                          "Micro-batches per optimizer step: the global batch is processed in this "
                          "many parts whose gradients add up; ranks synchronise once, on the "
                          "last.").ge(1));
  t.push_back(MLREC_PARAM(train, cuda_graphs,
                          "On a GPU with one rank, capture the training step (batch gather, forward, "
                          "backward) once as a CUDA graph and replay it; false = launch every kernel "
                          "eagerly. A step that cannot be captured falls back to eager with a warning."));
  t.push_back(MLREC_PARAM(train, log_every_steps,
                          "Print a progress line every this many steps (0 = none).").ge(0));
  // output
  t.push_back(MLREC_PARAM(output, dir, "Run directory: config.yaml, metrics.jsonl, summary.json, best.pt (written by rank 0)."));
  t.push_back(MLREC_PARAM(output, save_checkpoint, "Write the best epoch's weights to best.pt in the run directory."));
  // dist
  t.push_back(MLREC_PARAM(dist, backend, "Communicator: auto (MPI for CPU ranks, NCCL for GPU ranks), mpi, or nccl (GPU only; also for one rank).")
                  .one_of({"auto", "mpi", "nccl"}));
  t.push_back(MLREC_PARAM(dist, timeout_seconds, "Seconds a collective may wait for the other ranks before the job is ended, naming the ranks that did not arrive.").gt(0));
  t.push_back(MLREC_PARAM(dist, bucket_mb, "Gradient all-reduce bucket size in MiB: each bucket's all-reduce starts as soon as its gradients are ready.").ge(1));

  std::vector<ParamSpec> specs;
  specs.reserve(t.size());
  for (auto& s : t) specs.push_back(std::move(s.s));
  return specs;
}

#undef MLREC_PARAM

// ---------------------------------------------------------------------------------------------
// Keys

std::vector<std::string> section_names() {
  std::vector<std::string> out;
  for (const auto& s : param_specs()) {
    const auto sec = s.section();
    if (std::find(out.begin(), out.end(), sec) == out.end()) out.push_back(sec);
  }
  return out;
}

bool is_section(const std::string& name) {
  for (const auto& s : param_specs()) {
    if (s.key.size() > name.size() && s.key.compare(0, name.size(), name) == 0 &&
        s.key[name.size()] == '.')
      return true;
  }
  return false;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

[[noreturn]] void unknown_key(const std::string& key, const std::string& context) {
  std::string best;
  size_t best_d = 4;  // suggest only within distance 3
  std::vector<std::string> candidates = section_names();
  for (const auto& s : param_specs()) candidates.push_back(s.key);
  for (const auto& c : candidates) {
    const size_t d = edit_distance(key, c);
    if (d < best_d) best_d = d, best = c;
  }
  std::string reason = "unknown key";
  if (!best.empty()) reason += " (did you mean '" + best + "'?)";
  throw ConfigError::for_key(key, reason + context);
}

// ---------------------------------------------------------------------------------------------
// Parsing and checking

std::string expected_text(const ParamSpec& spec) {
  switch (spec.type) {
    case ParamType::kBool: return "expected true or false";
    case ParamType::kInt:
    case ParamType::kInt64: return "expected an integer";
    case ParamType::kDouble: return "expected a number";
    case ParamType::kString: return "expected a string";
    case ParamType::kIntList: return "expected a list of integers";
  }
  return "expected a value";
}

// Parses a base-10 integer with no junk; nullopt + reason on failure.
std::optional<int64_t> parse_int(const std::string& text, bool is_int32, std::string* why) {
  const std::string& s = text;
  size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (i >= s.size() || !std::all_of(s.begin() + i, s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    *why = "got '" + text + "'";
    return std::nullopt;
  }
  errno = 0;
  const long long v = std::strtoll(s.c_str(), nullptr, 10);
  const bool overflow = errno == ERANGE || (is_int32 && (v < INT_MIN || v > INT_MAX));
  if (overflow) {
    *why = "got '" + text + "', which is too large in magnitude";
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

std::optional<double> parse_double(const std::string& s, std::string* why) {
  const bool chars_ok = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
  });
  if (chars_ok) {
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() + s.size()) {
      if (errno == ERANGE || !std::isfinite(v)) {
        *why = "got '" + s + "', which is out of the representable range";
        return std::nullopt;
      }
      return v;
    }
  }
  *why = "got '" + s + "'";
  return std::nullopt;
}

// "[64, 32]", "64,32" or "64"; "[]" is the empty list.
std::optional<std::vector<int>> parse_int_list(const std::string& text, std::string* why) {
  std::string s = trim(text);
  if (!s.empty() && s.front() == '[') {
    if (s.back() != ']') {
      *why = "got '" + text + "'";
      return std::nullopt;
    }
    s = trim(s.substr(1, s.size() - 2));
  }
  std::vector<int> out;
  if (s.empty()) return out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::string item_why;
    const auto v = parse_int(trim(item), /*is_int32=*/true, &item_why);
    if (!v) {
      *why = "element " + std::to_string(out.size()) + ": " + item_why;
      return std::nullopt;
    }
    out.push_back(static_cast<int>(*v));
  }
  if (s.back() == ',') {  // getline drops a trailing empty item
    *why = "got '" + text + "'";
    return std::nullopt;
  }
  return out;
}

// "> 0", ">= 1", "in [0, 1)", or "" when unbounded.
std::string numeric_range_text(const ParamSpec& s) {
  if (s.min && s.max) {
    return std::string("in ") + (s.min_exclusive ? "(" : "[") + format_double(*s.min) + ", " +
           format_double(*s.max) + (s.max_exclusive ? ")" : "]");
  }
  if (s.min) return std::string(s.min_exclusive ? "> " : ">= ") + format_double(*s.min);
  if (s.max) return std::string(s.max_exclusive ? "< " : "<= ") + format_double(*s.max);
  return "";
}

// Bounds and enum checks for one value; throws ConfigError naming the key.
void check_value(const ParamSpec& spec, const ParamValue& value, const std::string& context) {
  auto fail = [&](const std::string& reason) {
    throw ConfigError::for_key(spec.key, reason + context);
  };
  auto in_range = [&](double v) {
    if (spec.min && (spec.min_exclusive ? !(v > *spec.min) : !(v >= *spec.min))) return false;
    if (spec.max && (spec.max_exclusive ? !(v < *spec.max) : !(v <= *spec.max))) return false;
    return true;
  };
  switch (spec.type) {
    case ParamType::kBool: break;
    case ParamType::kInt:
    case ParamType::kInt64: {
      const int64_t v = std::get<int64_t>(value);
      if (!in_range(static_cast<double>(v)))
        fail("must be " + spec.range_text() + ", got " + std::to_string(v));
      break;
    }
    case ParamType::kDouble: {
      const double v = std::get<double>(value);
      if (!std::isfinite(v) || !in_range(v))
        fail("must be " + spec.range_text() + ", got " + format_double(v));
      break;
    }
    case ParamType::kString: {
      const auto& v = std::get<std::string>(value);
      if (!spec.allowed.empty()) {
        if (std::find(spec.allowed.begin(), spec.allowed.end(), v) == spec.allowed.end())
          fail("expected one of " + join(spec.allowed, ", ") + "; got '" + v + "'");
      } else if (v.empty() && !spec.allow_empty) {
        fail("must not be empty");
      }
      break;
    }
    case ParamType::kIntList: {
      const auto& v = std::get<std::vector<int>>(value);
      if (v.empty() && !spec.allow_empty) fail("must be a non-empty list");
      for (size_t i = 0; i < v.size(); ++i) {
        if (!in_range(v[i]))
          fail("element " + std::to_string(i) + " must be " + numeric_range_text(spec) +
               ", got " + std::to_string(v[i]));
      }
      break;
    }
  }
}

// Parses `text` as the spec's type (no bounds check).
ParamValue parse_text(const ParamSpec& spec, const std::string& text, const std::string& context) {
  std::string why = "got '" + text + "'";
  auto fail = [&]() -> ParamValue {
    throw ConfigError::for_key(spec.key, expected_text(spec) + ", " + why + context);
  };
  switch (spec.type) {
    case ParamType::kBool:
      if (text == "true") return true;
      if (text == "false") return false;
      return fail();
    case ParamType::kInt:
    case ParamType::kInt64:
      if (auto v = parse_int(text, spec.type == ParamType::kInt, &why)) return *v;
      return fail();
    case ParamType::kDouble:
      if (auto v = parse_double(text, &why)) return *v;
      return fail();
    case ParamType::kString: return text;
    case ParamType::kIntList:
      if (auto v = parse_int_list(text, &why)) return *v;
      return fail();
  }
  return fail();
}

std::string node_kind(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "an empty value";
  return "'" + node.Scalar() + "'";
}

ParamValue parse_node(const ParamSpec& spec, const YAML::Node& node, const std::string& context) {
  if (node.IsScalar()) return parse_text(spec, node.Scalar(), context);
  if (spec.type == ParamType::kIntList && node.IsSequence()) {
    std::vector<int> out;
    for (const auto& item : node) {
      std::string why = item.IsScalar() ? "" : "got " + node_kind(item);
      std::optional<int64_t> v;
      if (item.IsScalar()) v = parse_int(item.Scalar(), /*is_int32=*/true, &why);
      if (!v) {
        throw ConfigError::for_key(spec.key, expected_text(spec) + ", element " +
                                                 std::to_string(out.size()) + ": " + why +
                                                 context);
      }
      out.push_back(static_cast<int>(*v));
    }
    return out;
  }
  throw ConfigError::for_key(spec.key, expected_text(spec) + ", got " + node_kind(node) + context);
}

void apply_yaml_map(Config& config, const YAML::Node& map, const std::string& prefix,
                    const std::string& context) {
  std::set<std::string> seen;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      throw ConfigError::for_key(prefix.empty() ? "<top level>" : prefix,
                                 "map keys must be plain names" + context);
    }
    const std::string name = kv.first.Scalar();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (!seen.insert(name).second) throw ConfigError::for_key(key, "duplicate key" + context);
    if (const ParamSpec* spec = find_param(key)) {
      const ParamValue value = parse_node(*spec, kv.second, context);
      check_value(*spec, value, context);
      spec->set(config, value);
    } else if (is_section(key)) {
      if (kv.second.IsMap()) {
        apply_yaml_map(config, kv.second, key, context);
      } else if (!kv.second.IsNull()) {  // an empty section keeps the defaults
        throw ConfigError::for_key(
            key, "expected a map of keys (a section), got " + node_kind(kv.second) + context);
      }
    } else {
      unknown_key(key, context);
    }
  }
}

void validate_cross_keys(const Config& c) {
  if (c.model.embedding_dim % c.model.heads != 0) {
    throw ConfigError::for_key(
        "model.embedding_dim",
        "must be divisible by model.heads (" + std::to_string(c.model.embedding_dim) + " % " +
            std::to_string(c.model.heads) + " != 0)");
  }
  if (c.train.cycle_momentum && c.train.base_momentum > c.train.max_momentum) {
    throw ConfigError::for_key("train.base_momentum",
                               "must be <= train.max_momentum (" +
                                   format_double(c.train.base_momentum) + " > " +
                                   format_double(c.train.max_momentum) + ")");
  }
}

Config from_yaml_node(const YAML::Node& root, const std::vector<std::string>& overrides,
                      const std::string& source_name) {
  Config config = default_config();
  if (root.IsMap()) {
    apply_yaml_map(config, root, "", " (in " + source_name + ")");
  } else if (!root.IsNull()) {
    throw InputError::in(source_name, "expected a map of config sections at the top level");
  }
  apply_overrides(config, overrides);
  validate(config);
  return config;
}

YAML::Node parse_yaml(const std::string& text, const std::string& source_name) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    if (!e.mark.is_null()) throw InputError::at(source_name, e.mark.line + 1, e.msg);
    throw InputError::in(source_name, e.msg);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ParamSpec

std::string ParamSpec::section() const { return key.substr(0, key.find('.')); }

std::string ParamSpec::type_name() const {
  switch (type) {
    case ParamType::kBool: return "bool";
    case ParamType::kInt:
    case ParamType::kInt64: return "int";
    case ParamType::kDouble: return "float";
    case ParamType::kString: return "string";
    case ParamType::kIntList: return "int list";
  }
  return "?";
}

std::string ParamSpec::range_text() const {
  if (type == ParamType::kString) {
    if (!allowed.empty()) return "one of: " + join(allowed, ", ");
    return allow_empty ? "" : "non-empty";
  }
  const std::string r = numeric_range_text(*this);
  if (type == ParamType::kIntList) {
    return std::string(allow_empty ? "" : "non-empty, ") + "each " + (r.empty() ? "any" : r);
  }
  return r;
}

std::string ParamSpec::default_text() const { return format_value(get(Config{})); }

// ---------------------------------------------------------------------------------------------
// Public API

const std::vector<ParamSpec>& param_specs() {
  static const std::vector<ParamSpec> specs = build_specs();
  return specs;
}

const ParamSpec* find_param(const std::string& key) {
  for (const auto& s : param_specs()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

Config default_config() { return Config{}; }

void set_param(Config& config, const std::string& key, const std::string& text) {
  const ParamSpec* spec = find_param(key);
  if (!spec) {
    if (is_section(key)) throw ConfigError::for_key(key, "is a section, not a key");
    unknown_key(key, "");
  }
  std::string value = trim(text);
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);  // --set 'data.dir="my dir"'
  }
  const ParamValue parsed = parse_text(*spec, value, "");
  check_value(*spec, parsed, "");
  spec->set(config, parsed);
}

void apply_overrides(Config& config, const std::vector<std::string>& overrides) {
  for (const auto& ov : overrides) {
    const auto eq = ov.find('=');
    const std::string key = eq == std::string::npos ? "" : trim(ov.substr(0, eq));
    if (key.empty()) {
      throw ConfigError("malformed override '" + ov +
                        "': expected KEY=VALUE (e.g. train.lr=0.01)");
    }
    try {
      set_param(config, key, ov.substr(eq + 1));
    } catch (const ConfigError& e) {
      throw ConfigError(std::string(e.what()) + " (in override '" + ov + "')");
    }
  }
}

std::string param_text(const Config& config, const std::string& key) {
  const ParamSpec* spec = find_param(key);
  if (!spec) unknown_key(key, "");
  return format_value(spec->get(config));
}

void validate(const Config& config) {
  for (const auto& spec : param_specs()) check_value(spec, spec.get(config), "");
  validate_cross_keys(config);
}

Config config_from_yaml_string(const std::string& yaml_text,
                               const std::vector<std::string>& overrides,
                               const std::string& source_name) {
  return from_yaml_node(parse_yaml(yaml_text, source_name), overrides, source_name);
}

Config load_config(const std::string& yaml_path, const std::vector<std::string>& overrides) {
  if (yaml_path.empty()) {
    Config config = default_config();
    apply_overrides(config, overrides);
    validate(config);
    return config;
  }
  return config_from_yaml_string(read_file(yaml_path, "config file"), overrides, yaml_path);
}

std::string to_yaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::string current;
  for (const auto& spec : param_specs()) {
    const std::string sec = spec.section();
    if (sec != current) {
      if (!current.empty()) out << YAML::EndMap;
      out << YAML::Key << sec << YAML::Value << YAML::BeginMap;
      current = sec;
    }
    out << YAML::Key << spec.key.substr(sec.size() + 1) << YAML::Value;
    const ParamValue v = spec.get(config);
    switch (spec.type) {
      case ParamType::kBool: out << std::get<bool>(v); break;
      case ParamType::kInt:
      case ParamType::kInt64: out << static_cast<long long>(std::get<int64_t>(v)); break;
      case ParamType::kDouble: out << format_double(std::get<double>(v)); break;
      case ParamType::kString: out << YAML::DoubleQuoted << std::get<std::string>(v); break;
      case ParamType::kIntList: {
        out << YAML::Flow << YAML::BeginSeq;
        for (int i : std::get<std::vector<int>>(v)) out << i;
        out << YAML::EndSeq;
        break;
      }
    }
  }
  if (!current.empty()) out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string("# mlrec resolved configuration (every key; see --help)\n") + out.c_str() +
         "\n";
}

std::string help_text() {
  std::ostringstream os;
  os << "Configuration keys (set them in the YAML config file, nested by section, or with\n"
        "--set KEY=VALUE; int lists as --set model.mlp_dims=[64,32]):\n";
  std::string current;
  for (const auto& spec : param_specs()) {
    if (spec.section() != current) {
      current = spec.section();
      os << "\n" << current << ":\n";
    }
    os << "  " << spec.key << " (" << spec.type_name() << ", default " << spec.default_text();
    const std::string range = spec.range_text();
    if (!range.empty()) os << "; " << range;
    os << ")\n      " << spec.help << "\n";
  }
  return os.str();
}

}  // namespace mlrec::config
