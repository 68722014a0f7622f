// Run configuration: typed, validated values for every layer (data, model, train, output, dist).
//
// Each parameter is declared ONCE: its default is the initializer of its field below, and its
// key, type, bounds or choices and help text are its row of the table behind param_specs()
// (src/config/config.cpp), which names the field (the key is spelled from the field's path, so
// the two cannot disagree). That table drives YAML parsing, `--set key=value` overrides,
// validation, the `--help-config` text and writing the resolved config back as YAML (to_yaml).
// The modules take these sections as they are (models, trainer, schedule): no option struct
// repeats a default, and a choice's values are listed only in its table row.
//
// Keys are the field paths: `train.lr` is Config::train.lr. In YAML they nest by section:
//
//   train:
//     lr: 0.01
//     epochs: 10
//
// Every key is optional (missing keys keep their default); unknown keys are errors. Errors about a
// value throw mlrec::ConfigError naming the dotted key; an unreadable or unparsable YAML file
// throws mlrec::InputError ("FILE:LINE: reason").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mlrec::config {

/// Typed, validated configuration. The defaults are the study's values.
struct Config {
  struct Data {
    std::string dir = "data/ml-1m";   // MovieLens-1M directory (ratings.dat, users.dat, movies.dat)
    std::string format = "auto";      // auto: the MovieLens release in dir; interactions: below
    int valid_per_user = 1;           // ratings per user held out for validation
    int test_per_user = 0;            // ratings per user held out for test (0 = the study's protocol)
    int min_ratings_per_user = 0;     // users with fewer ratings are dropped (0 = keep all)
    int sequence_length = 10;         // movies per user sequence window
    // How samples hold their windows (data/dataset.h): auto = materialized while the tables take
    // <= data.materialize_limit_mb, else gathered per batch.
    std::string windows = "auto";
    int materialize_limit_mb = 2048;
    // Where prepared data is cached (data/prepared_cache.h); "" = no cache.
    std::string cache_dir;
    // format=interactions: one CSV/TSV file with a header, its columns named here
    // (data/interactions.h reads it).
    struct Interactions {
      std::string path;                     // the file ("" unless format=interactions)
      std::string user = "user_id";         // header names of the columns read
      std::string item = "item_id";
      std::string rating = "rating";
      std::string timestamp = "timestamp";  // "" = no timestamp column: file order is time order
      std::string delimiter = "auto";       // auto (from the extension), ",", "\t" or tab, ";", "|"
      double rating_min = 0;                // the scale; rating_step 0 = infer all three
      double rating_max = 0;
      double rating_step = 0;
      // Optional side tables (data/side_features.h): a headered CSV/TSV with an id column and
      // categorical feature columns, for users and for items; seq_features embeds them.
      std::string user_table;               // "" = none
      std::string user_table_id;            // "" = the column named like data.interactions.user
      std::string user_table_features;      // comma-separated columns; "" = every other column
      std::string item_table;
      std::string item_table_id;            // "" = the column named like data.interactions.item
      std::string item_table_features;
    } interactions;
  } data;

  struct Model {
    std::string name = "seq_features";
    int factors = 120;                  // MF factors
    double embedding_init_std = 1.0;    // N(0, std) for all embeddings (PyTorch's default is 1.0)
    double bias_init_std = 1.0;         // N(0, std) for MF's bias embeddings; 0 = zeros
    int neighbours = 20;                // item_knn: rated items that vote on the target
    double shrinkage = 100;             // item_knn: similarity * n / (n + shrinkage), n common raters
    double recent_weight = 1;           // item_knn: weight of the window's votes against the others
    int sweeps = 200;                   // bayes_svdpp: Gibbs sweeps over every parameter
    int burn_in = 50;                   // bayes_svdpp: sweeps whose samples are discarded
    int keep_every = 5;                 // bayes_svdpp: of the later sweeps, every this-many-th is kept
    std::string linear_init = "default";
    // mlrec's kernels or torch's ops, per part of the sequence models (models/bst.h)
    std::string attention = "auto";          // auto | torch | short | short_v1 (CUDA: the first kernels)
    std::string feed_forward = "auto";
    std::string layer_norm = "auto";
    std::string residual_norm = "auto";      // LayerNorm(x + dropout(sublayer)): auto | torch | mlrec
    std::string batch_norm = "auto";
    std::string linear = "auto";
    std::string mf_kernel = "auto";          // MF's prediction: auto | torch | mlrec
    std::string embedding_backward = "auto"; // the lookups' backward on CUDA: auto | torch | mlrec
    int embedding_dim = 120;
    int heads = 12;
    int ff_dim = 2048;
    int encoder_layers = 1;
    double dropout = 0.1;  // transformer dropout
    std::vector<int> mlp_dims = {1024, 512, 256};
    double mlp_dropout = 0.2;  // after the 2nd hidden block, as in the study
    int sex_dim = 2;
    int age_dim = 4;
    int occupation_dim = 11;
    int feature_dim = 8;  // each user-table feature's embedding size (seq_features on your own data)
  } model;

  struct Train {
    int epochs = 10;
    int batch_size = 1024;
    int64_t seed = 42;
    double lr = 0.01;
    double weight_decay = 0.01;
    std::string embedding_optimizer = "dense";  // dense | lazy_adam | rowwise_adagrad
    std::string loss = "mse";                   // mse (the study's) | mae
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    std::string schedule = "onecycle";
    double pct_start = 0.3;
    double div_factor = 25;
    double final_div_factor = 1e4;
    bool cycle_momentum = true;
    double base_momentum = 0.85;
    double max_momentum = 0.95;
    int patience = 2;                        // 0 = no early stopping
    double early_stopping_threshold = 0.001;
    int64_t max_steps_per_epoch = 0;         // 0 = no cap (a cap also shortens the schedule)
    int eval_batch_size = 8192;
    std::string ranking = "auto";            // full-ranking HR@K / NDCG@K: auto | epoch | final | off
    int ranking_k = 10;
    std::string device = "auto";
    int threads = 0;                         // torch intra-op threads; 0 = all cores
    std::string precision = "fp32";          // parsed by precision_of()
    int log_every_steps = 100;               // progress line cadence (0 = none)
    int accumulation_steps = 1;              // micro-batches per optimizer step
    bool cuda_graphs = true;                 // replay each step as a CUDA graph (GPU)
    bool graph_optimizer = true;             // the optimizer's update inside that graph
  } train;

  struct Output {
    std::string dir = "runs/seq_features";
    bool save_checkpoint = true;
    bool overwrite = false;  // replace another run's files in output.dir
  } output;

  // A blend (serve/serve.h, train_blend): models trained on the same data and combined linearly,
  // fitted on validation.
  struct Blend {
    std::string members;  // comma-separated configuration files of the members; "" = not a blend
    int member_seeds = 1;  // copies of each member trained by gradient, each with its own seed
  } blend;

  // Training-state checkpoints under output.dir/checkpoints (train/checkpointing.h).
  struct Checkpoint {
    std::string resume = "auto";  // never | auto | a checkpoint folder
    int64_t every_steps = 0;      // 0 = not by step count
    double every_minutes = 30;    // 0 = not by time
    int keep = 2;                 // newest checkpoints kept; 0 = write none
  } checkpoint;

  // Traces of a few training steps from torch's profiler (train/profiler.h), as torch.profiler
  // writes them: output.dir/profile/trace.rank<R>.json, one per rank.
  struct Profile {
    int steps = 0;            // steps recorded; 0 = no profiling
    int64_t skip_steps = 5;   // steps of the run (this process's) before the recording starts
    bool shapes = true;       // record each op's input shapes
  } profile;

  struct Dist {
    std::string backend = "auto";
    double timeout_seconds = 300;
    int bucket_mb = 1;
  } dist;
};

/// train.precision: fp32 (strict float32), tf32 (TF32 tensor cores on CUDA), bf16 (bf16 autocast).
enum class Precision { kFp32, kTf32, kBf16 };
Precision precision_of(const Config::Train& train);

/// The type of a parameter. kInt is a 32-bit int field, kInt64 a 64-bit one.
enum class ParamType { kBool, kInt, kInt64, kDouble, kString, kIntList };

/// A parameter's value. Both integer types are held as int64_t.
using ParamValue = std::variant<bool, int64_t, double, std::string, std::vector<int>>;

/// One parameter: key, type, bounds, help, and how to read/write it in a Config.
struct ParamSpec {
  std::string key;   // "train.lr": the field path
  ParamType type = ParamType::kString;
  std::string help;

  // Bounds. Numbers: min/max (each inclusive unless *_exclusive); for int lists they bound every
  // element. Strings: `allowed` (an enum) when non-empty; `allow_empty` otherwise.
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
  std::vector<std::string> allowed;
  bool allow_empty = false;  // strings may be "", int lists may be []

  std::function<ParamValue(const Config&)> get;
  std::function<void(Config&, const ParamValue&)> set;  // no checks: use set_param()

  std::string section() const;        // "train"
  std::string type_name() const;      // "bool", "int", "float", "string", "int list"
  std::string range_text() const;     // "> 0", "[0, 1)", "one of: auto, cpu, cuda", "" if any
  std::string default_text() const;   // the default, as written in YAML
};

/// The parameter table, in section order (data, model, train, output, checkpoint, dist).
const std::vector<ParamSpec>& param_specs();

/// The spec for `key`, or nullptr.
const ParamSpec* find_param(const std::string& key);

Config default_config();

/// Loads the YAML file (every key optional; nested maps `train: {lr: 0.01}`), applies the
/// overrides "key.path=value" in order (last wins), then validates. An empty yaml_path starts from
/// the defaults; a file with no settings (empty, or only comments) does too, and says so. Throws InputError for a missing/unparsable file, ConfigError for a bad key/value.
Config load_config(const std::string& yaml_path, const std::vector<std::string>& overrides);

/// As load_config, from YAML text; source_name is used in error messages.
Config config_from_yaml_string(const std::string& yaml_text,
                               const std::vector<std::string>& overrides,
                               const std::string& source_name = "<string>");

/// Applies "key=value" overrides in order (bounds-checked per key; call validate() afterwards for
/// the cross-key checks). Int lists are written "[64,32]" or "64,32".
void apply_overrides(Config& config, const std::vector<std::string>& overrides);

/// Parses `text` as the value of `key` and stores it (type- and bounds-checked).
void set_param(Config& config, const std::string& key, const std::string& text);

/// Whether `key` is a data.* setting that says where the data sits or how its samples are held
/// (data.dir, data.interactions.path, data.cache_dir, data.windows, data.materialize_limit_mb),
/// not which samples they are: the prepared-data cache's key leaves these out, and a run may
/// resume with them changed (the data's fingerprint decides).
bool is_data_location_or_storage_key(const std::string& key);

/// The value of `key`, formatted as in to_yaml ("0.01", "true", "[1024, 512, 256]").
std::string param_text(const Config& config, const std::string& key);

/// Checks every value's bounds and the cross-key rules (e.g. model.embedding_dim divisible by
/// model.heads). Throws ConfigError naming the key.
void validate(const Config& config);

/// The resolved config, every key, as YAML; round-trips through config_from_yaml_string.
std::string to_yaml(const Config& config);

/// Every key with its type, default, range and help, grouped by section — for --help.
std::string help_text();

}  // namespace mlrec::config
