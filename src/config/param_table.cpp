// The parameter table: every configuration key, declared once (config.h says how).
#include <type_traits>
#include <utility>

#include "param_table.h"

namespace mlrec::config {
namespace {

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

}  // namespace

std::vector<ParamSpec> build_param_table() {
  std::vector<Spec> t;
  // data
  t.push_back(MLREC_PARAM(data, dir, "MovieLens release folder: ML-1M (ratings.dat), ML-100K (u.data) or a CSV release (ratings.csv), detected from its files; read when data.format=auto."));
  t.push_back(MLREC_PARAM(data, format,
                          "What data.* reads: auto (the MovieLens release in data.dir, detected from its "
                          "files) or interactions (the CSV/TSV file data.interactions.path, columns named "
                          "by data.interactions.*).").one_of({"auto", "interactions"}));
  t.push_back(MLREC_PARAM(data, valid_per_user,
                          "Ratings per user held out for validation.").ge(1));
  t.push_back(MLREC_PARAM(data, test_per_user,
                          "Ratings per user held out for test, after the validation ones (0 = the "
                          "study's protocol: select and report on validation).").ge(0));
  t.push_back(MLREC_PARAM(data, min_ratings_per_user,
                          "Drop users with fewer ratings than this (0 = keep all).").ge(0));
  t.push_back(MLREC_PARAM(data, sequence_length,
                          "Movies per user sequence window (seq models).").ge(2));
  t.push_back(MLREC_PARAM(data, windows,
                          "How samples hold their history windows: materialized (one row per sample, "
                          "~144 bytes at a window of 10; a batch is one gather, the fastest), gathered (8 "
                          "bytes per sample; windows gathered from the ratings per batch, what fits tens of "
                          "millions of ratings) or auto (materialized while the tables take at most "
                          "data.materialize_limit_mb). Both give the same batches.")
                  .one_of({"auto", "materialized", "gathered"}));
  t.push_back(MLREC_PARAM(data, materialize_limit_mb,
                          "data.windows=auto materializes the windows while the training, validation and "
                          "test tables together take at most this many MB.").ge(0));
  t.push_back(MLREC_PARAM(data, cache_dir,
                          "Folder of the prepared-data cache: the first run writes the prepared ratings "
                          "there (keyed by the data files' names, sizes and modification times and the "
                          "preparation settings) and later runs, and every rank on the host, map that one "
                          "file instead of parsing; \"\" = no cache.").may_be_empty());
  t.push_back(MLREC_PARAM(data, interactions.path,
                          "Interactions file read when data.format=interactions: CSV or TSV with a header "
                          "line naming its columns; extra columns are ignored.").may_be_empty());
  t.push_back(MLREC_PARAM(data, interactions.user,
                          "Header name of the user id column (integers or any text, e.g. UUIDs)."));
  t.push_back(MLREC_PARAM(data, interactions.item,
                          "Header name of the item id column (integers or any text)."));
  t.push_back(MLREC_PARAM(data, interactions.rating, "Header name of the rating column (numbers)."));
  t.push_back(MLREC_PARAM(data, interactions.timestamp,
                          "Header name of the timestamp column: integers (e.g. Unix seconds) or ISO-8601 "
                          "dates (2020-01-02, 2020-01-02T03:04:05Z); \"\" = none: file order is time "
                          "order.").may_be_empty());
  t.push_back(MLREC_PARAM(data, interactions.delimiter,
                          "Field delimiter: auto (.csv: comma, .tsv/.tab: tab), or one of \",\" \";\" "
                          "\"|\" tab (also written \"\\t\")."));
  t.push_back(MLREC_PARAM(data, interactions.rating_min,
                          "Lowest rating of the scale (declare rating_min, rating_max and rating_step "
                          "together, or none)."));
  t.push_back(MLREC_PARAM(data, interactions.rating_max, "Highest rating of the scale."));
  t.push_back(MLREC_PARAM(data, interactions.rating_step,
                          "Step between rating levels; 0 = infer the scale (min, max, step) from the "
                          "data, at most 1,000 levels.").ge(0));
  t.push_back(MLREC_PARAM(data, interactions.user_table,
                          "Optional user table (data.format=interactions): a CSV or TSV with a header, one "
                          "row per user, an id column and categorical feature columns, which seq_features "
                          "embeds (as ML-1M's sex, age and occupation); \"\" = none.").may_be_empty());
  t.push_back(MLREC_PARAM(data, interactions.user_table_id,
                          "The user table's id column; \"\" = the column named like "
                          "data.interactions.user.").may_be_empty());
  t.push_back(MLREC_PARAM(data, interactions.user_table_features,
                          "The user table's feature columns, comma-separated; \"\" = every column but the "
                          "id.").may_be_empty());
  t.push_back(MLREC_PARAM(data, interactions.item_table,
                          "Optional item table, as the user table: seq_features adds its features' "
                          "embeddings to each item's in the sequence; \"\" = none.").may_be_empty());
  t.push_back(MLREC_PARAM(data, interactions.item_table_id,
                          "The item table's id column; \"\" = the column named like "
                          "data.interactions.item.").may_be_empty());
  t.push_back(MLREC_PARAM(data, interactions.item_table_features,
                          "The item table's feature columns, comma-separated; \"\" = every column but the "
                          "id.").may_be_empty());
  // model
  t.push_back(MLREC_PARAM(model, name,
                          "Model to train: baseline (the training median), mf, mf_history (MF reading the "
                          "user's ratings just before the target: models/mf_history.h), item_knn (item "
                          "neighbourhood on baseline residuals, fitted in closed form: models/item_knn.h), "
                          "bayes_svdpp (SVD++ by Gibbs sampling: models/bayes_svdpp.h), seq, seq_ratings, seq_features (the Behavior Sequence Transformer and its variants).")
                  .one_of({"baseline", "mf", "mf_history", "item_knn", "bayes_svdpp", "seq", "seq_ratings", "seq_features"}));
  t.push_back(MLREC_PARAM(model, factors, "Matrix factorization latent factors (mf).").ge(1));
  t.push_back(MLREC_PARAM(model, embedding_init_std,
                          "Std of the N(0, std) init of every embedding (PyTorch's default: 1).")
                  .gt(0));
  t.push_back(MLREC_PARAM(model, bias_init_std,
                          "Std of the N(0, std) init of MF's user and item biases (0 = zeros).").ge(0));
  t.push_back(MLREC_PARAM(model, neighbours,
                          "item_knn: how many of the user's rated items, the most similar to the target, "
                          "predict its rating.").ge(1));
  t.push_back(MLREC_PARAM(model, shrinkage,
                          "item_knn: a similarity from n common raters is shrunk by n / (n + shrinkage), "
                          "so that items with few raters in common count less.").ge(0));
  t.push_back(MLREC_PARAM(model, recent_weight,
                          "item_knn: the votes of the window's ratings (the data.sequence_length - 1 "
                          "ratings just before the target, mostly its session on MovieLens) weigh this "
                          "many times more than the user's other ratings.").gt(0));
  t.push_back(MLREC_PARAM(model, sweeps,
                          "bayes_svdpp: Gibbs sampling sweeps, each drawing every parameter once.").ge(1));
  t.push_back(MLREC_PARAM(model, burn_in,
                          "bayes_svdpp: the first sweeps, whose samples are discarded (the chain has not "
                          "settled); must be fewer than model.sweeps.").ge(0));
  t.push_back(MLREC_PARAM(model, keep_every,
                          "bayes_svdpp: after the burn-in, every this-many-th sweep's sample is kept; the "
                          "prediction is the kept samples' mean, and the run keeps each (model.factors + 1 "
                          "floats per user and item, four tables).").ge(1));
  t.push_back(MLREC_PARAM(model, linear_init,
                          "Init of the sequence models' Linear layers: default (PyTorch's "
                          "kaiming-uniform) or xavier_uniform.").one_of({"default", "xavier_uniform"}));
  t.push_back(MLREC_PARAM(model, attention,
                          "Attention of the sequence models: short (mlrec's kernels for windows of <= "
                          "32 tokens: a fused loop per sample on the CPU, fused kernels on CUDA where "
                          "built), short_v1 (on CUDA the first version of those kernels, float32), torch "
                          "(scaled_dot_product_attention), or auto (the default): mlrec's, measured faster "
                          "on the CPU and on an H200; on CUDA short_v1 until a GPU has tested and measured "
                          "short's rewrite.").one_of({"auto", "torch", "short", "short_v1"}));
  t.push_back(MLREC_PARAM(model, feed_forward,
                          "The feed-forward's bias + GELU + dropout in the sequence models: fused (one "
                          "pass each way: on the CPU in float32, on CUDA in float32 or under bf16 "
                          "autocast where mlrec's kernels are built), torch (its ops), or auto (the default): "
                          "fused, measured faster on the CPU and on an H200.").one_of({"auto", "torch", "fused"}));
  t.push_back(MLREC_PARAM(model, layer_norm,
                          "The sequence models' LayerNorm: mlrec (mlrec's CUDA kernels for rows of <= 256 "
                          "float32 features, where built; torch's elsewhere), torch, or auto (the "
                          "default): mlrec, measured faster on an H200.").one_of({"auto", "torch", "mlrec"}));
  t.push_back(MLREC_PARAM(model, residual_norm,
                          "The encoder's residual steps, LayerNorm(x + dropout(sublayer output)): mlrec (on CUDA, "
                          "where built, for rows of <= 256 float32 features: the dropout, the add and the "
                          "LayerNorm as one kernel each way), torch (the three as separate ops, the LayerNorm "
                          "as model.layer_norm says), or auto (the default): torch until a GPU has tested and "
                          "measured mlrec's.").one_of({"auto", "torch", "mlrec"}));
  t.push_back(MLREC_PARAM(model, batch_norm,
                          "The sequence models' MLP BatchNorm + Mish: mlrec (in training on CUDA, where "
                          "built, one kernel each way for float32 or bf16 activations; on the CPU torch's "
                          "BatchNorm and mlrec's Mish, one exp per element), torch, or auto (the default): "
                          "mlrec, measured faster on an H200 and on the CPU.")
                  .one_of({"auto", "torch", "mlrec"}));
  t.push_back(MLREC_PARAM(model, linear,
                          "The sequence models' linear layers: mlrec (on CUDA in float32 or under bf16 "
                          "autocast, where built: the bias gradients by mlrec's column-sum kernel; under bf16 "
                          "the float32 gradients straight from cuBLAS's float accumulators), "
                          "torch (ATen's linear), or auto (the default): mlrec, measured faster on an "
                          "H200.").one_of({"auto", "torch", "mlrec"}));
  t.push_back(MLREC_PARAM(model, mf_kernel,
                          "MF's prediction (model mf): mlrec (one CUDA kernel each way for the lookups, the "
                          "product, the biases and the sigmoid, where built for the GPU; torch's ops "
                          "elsewhere), torch, or auto (the default): torch until a GPU has tested and "
                          "measured mlrec's.")
                  .one_of({"auto", "torch", "mlrec"}));
  t.push_back(MLREC_PARAM(model, embedding_backward,
                          "The embedding tables' gradients on CUDA (every model that looks rows up: mf, "
                          "mf_history, the sequence models): mlrec (one kernel per table after a memset, "
                          "where built for the GPU: vector atomics, small tables summed in shared memory "
                          "first), torch (ATen's index_add_ into a zeroed table), or auto (the default): "
                          "torch until a GPU has tested and measured mlrec's.")
                  .one_of({"auto", "torch", "mlrec"}));
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
  t.push_back(MLREC_PARAM(model, feature_dim,
                          "Embedding size of each feature of a user table (seq_features on your own "
                          "data); item-table features take model.embedding_dim, as they are added to the "
                          "item's embedding.").ge(1));
  // train
  t.push_back(MLREC_PARAM(train, epochs, "Training epochs.").ge(1));
  t.push_back(MLREC_PARAM(train, batch_size, "Global training batch size: all ranks together; each rank takes batch_size / world size.").ge(1));
  t.push_back(MLREC_PARAM(train, seed, "Random seed (init, shuffling, dropout).").ge(0));
  t.push_back(MLREC_PARAM(train, lr, "Learning rate (the peak rate under onecycle).").gt(0));
  t.push_back(MLREC_PARAM(train, weight_decay, "Optimizer weight decay.").ge(0));
  t.push_back(MLREC_PARAM(train, loss,
                          "Training loss: mse (the study's; its minimiser is the conditional mean) or mae "
                          "(L1; its minimiser is the conditional median, what MAE rewards). Metrics are "
                          "the same either way.").one_of({"mse", "mae"}));
  t.push_back(MLREC_PARAM(train, embedding_optimizer,
                          "How embedding tables are updated: dense (AdamW over every row each step, the "
                          "study's), lazy_adam (Adam on the rows a step looked up) or rowwise_adagrad (one "
                          "accumulator per row, TorchRec's). The sparse two exchange only touched rows "
                          "across ranks; other parameters stay on AdamW.")
                  .one_of({"dense", "lazy_adam", "rowwise_adagrad"}));
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
  t.push_back(MLREC_PARAM(train, ranking,
                          "Full-ranking top-K metrics (HR@K, NDCG@K: each held-out item ranked among all "
                          "items its user has not rated before it): epoch (every validation), final (the "
                          "selected model only, on validation and test), off, or auto (the default): epoch "
                          "for models that score all items in one matrix product (mf, baseline), off for "
                          "the sequence models, which need a forward per item (final asks for it).")
                  .one_of({"auto", "epoch", "final", "off"}));
  t.push_back(MLREC_PARAM(train, ranking_k, "K of the ranking metrics HR@K and NDCG@K.").ge(1));
  t.push_back(MLREC_PARAM(train, device, "Compute device (auto: cuda when available, else cpu).")
                  .one_of({"auto", "cpu", "cuda"}));
  // (at most 1,024: 100,000 threads asked for by a slip of the keyboard ran for ever)
  t.push_back(MLREC_PARAM(train, threads, "Torch intra-op threads (0 = all cores).").ge(0).le(1024));
  t.push_back(MLREC_PARAM(train, precision, "Matrix math: fp32 (strict), tf32 (TF32 tensor cores on CUDA), bf16 (bf16 autocast).").one_of({"fp32", "tf32", "bf16"}));
  t.push_back(MLREC_PARAM(train, accumulation_steps,
                          "Micro-batches per optimizer step: the global batch is processed in this "
                          "many parts whose gradients add up; ranks synchronise once, on the "
                          "last.").ge(1));
  t.push_back(MLREC_PARAM(train, cuda_graphs,
                          "On a GPU, capture the training step (batch gather, forward, backward; with "
                          "NCCL the gradient all-reduces) once as a CUDA graph and replay it; false = "
                          "launch every kernel eagerly. A step that cannot be captured falls back to "
                          "eager with a warning."));
  t.push_back(MLREC_PARAM(train, graph_optimizer,
                          "With train.cuda_graphs, capture the dense AdamW update in the graph too, its lr "
                          "and beta1 read from the schedule in device memory (not with dist.backend=mpi); "
                          "false = one fused launch after each replay, with host numbers."));
  t.push_back(MLREC_PARAM(train, log_every_steps,
                          "Print a progress line every this many steps (0 = none).").ge(0));
  // output
  t.push_back(MLREC_PARAM(output, dir, "Run directory: config.yaml, metrics.jsonl, summary.json, best.pt (written by rank 0)."));
  t.push_back(MLREC_PARAM(output, save_checkpoint, "Write the best epoch's weights to best.pt in the run directory."));
  t.push_back(MLREC_PARAM(output, overwrite,
                          "Replace the files of another run found in output.dir (config.yaml, metrics.jsonl, "
                          "summary.json, best.pt, checkpoints/, tensorboard/, profile/). Without it such a directory is refused, "
                          "unless it holds this same run, which checkpoint.resume continues."));
  // blend
  t.push_back(MLREC_PARAM(blend, members,
                          "Makes this configuration a blend: its members' configuration files, "
                          "comma-separated (paths as data.dir's: from the working directory). The command "
                          "trains each member on this file's data section (the same split for all) into "
                          "output.dir/<member file's name>, then fits their linear blend on validation "
                          "and scores it once on test (output.dir/blend.json; with --seeds, per seed and "
                          "mean +- std). Needs data.test_per_user > 0; \"\" = not a blend.").may_be_empty());
  t.push_back(MLREC_PARAM(blend, member_seeds,
                          "Each member trained by gradient is trained this many times, copy k with seed "
                          "train.seed + k * 1000000 (into output.dir/<name>-<k> for k >= 1), and every "
                          "copy joins the blend: seeds' errors partly cancel. Closed-form members "
                          "(baseline, item_knn) are the same for every seed and join once.").ge(1).le(100));
  // checkpoint
  t.push_back(MLREC_PARAM(checkpoint, resume,
                          "auto: continue from the newest valid checkpoint in output.dir/checkpoints (a "
                          "finished run exits at once; none: start fresh); never: always start fresh; or "
                          "the path of a checkpoint folder to continue from."));
  t.push_back(MLREC_PARAM(checkpoint, every_steps,
                          "Also write a checkpoint every this many optimizer steps (0 = not by steps). "
                          "One is always written at each epoch's end and on a stop signal.").ge(0));
  t.push_back(MLREC_PARAM(checkpoint, every_minutes,
                          "Also write a checkpoint when this many minutes have passed since the last one "
                          "(0 = not by time).").ge(0));
  t.push_back(MLREC_PARAM(checkpoint, keep,
                          "Newest checkpoints kept; older ones are removed. 0 = write no checkpoints "
                          "(the run cannot be resumed).").ge(0));
  // profile
  t.push_back(MLREC_PARAM(profile, steps,
                          "Record this many training steps with torch's profiler (Kineto, as torch.profiler) "
                          "into output.dir/profile/trace.rank<R>.json, a Chrome trace for Perfetto, "
                          "chrome://tracing or TensorBoard's profiler: every op with its time, and on a GPU "
                          "every kernel, copy and the CUDA calls that launched them; each step is named "
                          "ProfilerStep#<step>. bench/trace_summary.py tables it. 0 = no profiling.").ge(0));
  t.push_back(MLREC_PARAM(profile, skip_steps,
                          "Training steps this process takes before the recording starts (skip the first "
                          "steps' warm-up; with train.cuda_graphs the first 3 are eager and the graph is "
                          "captured at the 4th, so 0 records those too).").ge(0));
  t.push_back(MLREC_PARAM(profile, shapes, "Record each op's input shapes in the trace."));
  // dist
  t.push_back(MLREC_PARAM(dist, backend, "Communicator: auto (MPI for CPU ranks, NCCL for GPU ranks), mpi (also for GPU ranks, staging their "
                          "tensors through host memory: ranks may share a GPU), or nccl (GPU only, a GPU per rank; "
                          "also for one rank).")
                  .one_of({"auto", "mpi", "nccl"}));
  t.push_back(MLREC_PARAM(dist, timeout_seconds, "Seconds a collective may wait for the other ranks before the job is ended, naming the ranks that did not arrive.").gt(0));
  t.push_back(MLREC_PARAM(dist, bucket_mb, "Gradient all-reduce bucket size in MiB: each bucket's all-reduce starts as soon as its gradients are ready.").ge(1));

  std::vector<ParamSpec> specs;
  specs.reserve(t.size());
  for (auto& s : t) specs.push_back(std::move(s.s));
  return specs;
}

#undef MLREC_PARAM

}  // namespace mlrec::config
