// Data parallelism across real ranks: sharding, evaluation counts, and gradient averaging that
// makes N ranks train exactly as one rank with the same global batch.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "dist_env.h"
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "mlrec/data/load.h"
#include "mlrec/distributed/grad_sync.h"
#include "mlrec/distributed/sampler.h"
#include "mlrec/distributed/sparse_grad_exchange.h"
#include "mlrec/models/registry.h"
#include "mlrec/train/trainer.h"
#include "support/synthetic_fixture.h"

namespace mlrec::dist {
namespace {

using test_support::world;

// Every rank writes the same synthetic data (same seed) into its own temp dir.
const test_support::SyntheticData& data() {
  static test_support::SyntheticData d(301, 70, 5);  // 301 users: uneven validation shards
  return d;
}

// Without dropout, so that N ranks and one rank draw nothing differently.
config::Config::Model model_options(const std::string& name) {
  config::Config::Model m = test_support::small_model(name);
  m.heads = 2;
  m.dropout = 0;
  m.mlp_dropout = 0;
  return m;
}

config::Config::Train training(int64_t batch) {
  config::Config::Train t;
  t.epochs = 2;
  t.batch_size = batch;
  t.max_steps_per_epoch = 6;
  t.patience = 0;
  t.log_every_steps = 0;
  t.threads = 1;
  return t;
}

// Trains a fresh model (init seed 0) on `comm` and `device` and returns its parameters (on the
// CPU), and whether the steps were replayed from a CUDA graph.
std::pair<std::vector<torch::Tensor>, bool> train_on(Communicator& comm, const config::Config::Train& options,
                                                     int64_t bucket_bytes, const std::string& name,
                                                     torch::Device device) {
  torch::manual_seed(0);
  auto model = models::make_model(model_options(name), data().info);
  train::Trainer trainer(model, options, comm, device, bucket_bytes);
  const auto fit = trainer.fit(data().train.to(device), data().valid.to(device));
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().cpu().clone());
  return {out, fit.cuda_graph};
}

std::vector<torch::Tensor> train(Communicator& comm, const config::Config::Train& options, int64_t bucket_bytes,
                                 const std::string& name = "mf") {
  return train_on(comm, options, bucket_bytes, name, torch::Device(torch::kCPU)).first;
}

void expect_same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, double rtol = 1e-4,
                 double atol = 1e-6) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i], b[i], rtol, atol))
        << "parameter " << i << " differs by " << (a[i] - b[i]).abs().max().item<double>();
  }
}

TEST(DataParallel, ShardsCoverTheDataOnceWithEqualStepCounts) {
  const int n = world().world_size();
  const int64_t size = 1001, global = 12 * n;
  DistributedSampler sampler(size, global, world().rank(), n, 9);
  auto counts = torch::zeros({size}, torch::kInt64);
  auto idx = sampler.epoch_indices(3);
  counts.index_add_(0, idx, torch::ones_like(idx));
  world().all_reduce_sum(counts, "test");
  EXPECT_LE(counts.max().item<int64_t>(), 1);
  EXPECT_EQ(counts.sum().item<int64_t>(), sampler.steps_per_epoch() * global);
  auto steps = torch::full({1}, sampler.steps_per_epoch(), torch::kInt64);
  world().all_reduce_sum(steps, "test");
  EXPECT_EQ(steps.item<int64_t>(), n * sampler.steps_per_epoch());
}

TEST(DataParallel, EvaluationScoresEachSampleExactlyOnce) {
  torch::manual_seed(0);
  auto model = models::make_model(model_options("mf"), data().info);
  train::Trainer trainer(model, training(60), world(), torch::Device(torch::kCPU));
  const auto metrics = trainer.evaluate(data().valid);
  EXPECT_EQ(metrics.count, 301);
  // The same model scored on one rank alone gives the same sums (up to float32 rounding, which
  // depends on the batch shapes).
  auto local = make_local_communicator();
  train::Trainer alone(model, training(60), *local, torch::Device(torch::kCPU));
  const auto single = alone.evaluate(data().valid);
  EXPECT_NEAR(metrics.mae, single.mae, 1e-6 * single.mae);
  EXPECT_NEAR(metrics.mse, single.mse, 1e-6 * single.mse);
}

TEST(DataParallel, RankingMetricsAreTheSameOnAnyNumberOfRanks) {
  torch::manual_seed(0);
  auto model = models::make_model(model_options("mf"), data().info);
  const train::RankingInput ranking{data::seen_items(data().prepared, data::SeenRows::kTraining), data().info.num_movies};
  train::Trainer trainer(model, training(60), world(), torch::Device(torch::kCPU));
  const auto metrics = trainer.evaluate(data().valid, &ranking);
  auto local = make_local_communicator();
  train::Trainer alone(model, training(60), *local, torch::Device(torch::kCPU));
  const auto single = alone.evaluate(data().valid, &ranking);
  ASSERT_EQ(metrics.ranking_k, 10);
  EXPECT_GT(single.hr, 0);  // something to compare: some held-out items rank in the top 10
  // Ranks are counts, the same whatever the sharding: exact up to the float64 sums' order.
  EXPECT_NEAR(metrics.hr, single.hr, 1e-12);
  EXPECT_NEAR(metrics.ndcg, single.ndcg, 1e-12);
}

TEST(DataParallel, NRanksTrainLikeOneRankWithTheSameGlobalBatch) {
  const int64_t global = 60;  // divides by 2 and by 3
  auto local = make_local_communicator();
  const auto reference = train(*local, training(global), 1 << 20);
  expect_same(train(world(), training(global), 1 << 20), reference);
  // Tiny buckets: many all-reduces in flight during backward, same result.
  expect_same(train(world(), training(global), 4096), reference);
}

TEST(DataParallel, EachRankDrawsDropoutMasksOfItsOwnFromTheStepAlone) {
  // Every rank seeded alike drew the same masks: sample i of each rank's micro-batch got one
  // mask, and the averaged gradient's dropout noise was correlated across ranks.
  auto draw = [](int rank, int64_t step) {
    train::seed_step_generators(42, rank, step, torch::Device(torch::kCPU));
    return torch::rand({64});
  };
  const auto mine = draw(world().rank(), 7);
  auto all = torch::empty({world().world_size(), 64});
  world().all_gather(mine, all, "test masks");
  for (int r = 1; r < world().world_size(); ++r) EXPECT_FALSE(torch::equal(all[r], all[0])) << "rank " << r;
  // A function of (seed, rank, step) alone: what drew before does not matter (a resumed run
  // draws as the uninterrupted one did), and the next step draws anew.
  torch::rand({1000});
  EXPECT_TRUE(torch::equal(draw(world().rank(), 7), mine));
  EXPECT_FALSE(torch::equal(draw(world().rank(), 8), mine));
  torch::manual_seed(0);  // the ranks alike again, for the tests after this one
}

TEST(DataParallel, AccumulatedMicroBatchesSynchroniseOnceAndMatch) {
  const int64_t global = 120;
  auto local = make_local_communicator();
  const auto reference = train(*local, training(global), 1 << 20);
  auto options = training(global);
  options.accumulation_steps = 2;
  expect_same(train(world(), options, 8192), reference);
}

// This rank's gradients of the sequence model for its own micro-batches: as they are, or averaged
// across ranks by the synchroniser at `sync_point`.
std::vector<torch::Tensor> gradients(int accumulation, std::optional<SyncPoint> sync_point) {
  torch::manual_seed(0);
  auto model = models::make_model(model_options("seq_features"), data().info);
  auto params = model->parameters();
  std::unique_ptr<GradientSynchronizer> sync;
  if (sync_point) sync = std::make_unique<GradientSynchronizer>(params, world(), 4096, *sync_point);
  const int64_t micro_batch = 20;
  for (int m = 0; m < accumulation; ++m) {
    if (sync) sync->begin_micro_batch(m == 0, m == accumulation - 1);
    const int64_t first = (int64_t(world().rank()) * accumulation + m) * micro_batch;
    auto batch = data().train.gather(torch::arange(first, first + micro_batch));
    torch::mse_loss(model->forward(batch), batch.target).backward();
  }
  if (sync) sync->finish();
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) grads.push_back(p.grad().defined() ? p.grad().detach().clone() : torch::zeros_like(p));
  return grads;
}

// The synchroniser's two paths, its hooks during backward and its packing of .grad after it (a
// CUDA graph whose collectives cannot be captured), must both give the plain average.
TEST(DataParallel, GradientsAveragedAfterBackwardEqualThoseAveragedDuringIt) {
  for (int accumulation : {1, 3}) {
    SCOPED_TRACE("micro-batches " + std::to_string(accumulation));
    const auto own = gradients(accumulation, std::nullopt);
    std::vector<torch::Tensor> plain;
    double own_minus_average = 0;
    for (const auto& g : own) {
      auto sum = g.clone();
      world().all_reduce_sum(sum, "test: plain average");
      plain.push_back(sum / world().world_size());
      own_minus_average += (plain.back() - g).abs().sum().item<double>();
    }
    auto differs = torch::full({1}, own_minus_average, torch::kFloat64);
    world().all_reduce_sum(differs, "test: ranks differ");
    EXPECT_GT(differs.item<double>(), 0);  // the ranks' gradients differ: the average is a test
    expect_same(gradients(accumulation, SyncPoint::kDuringBackward), plain);
    expect_same(gradients(accumulation, SyncPoint::kAfterBackward), plain);
  }
}

// Two (or three) ranks on one GPU: NCCL refuses that, and the MPI communicator serves it, staging
// the device tensors through host memory. Device placement, the gradient hooks on device tensors,
// the buffers' broadcasts and the evaluation shards on the device all run, eagerly and with the
// step replayed as a CUDA graph (the all-reduces after each replay). MF must train as one rank
// with the same global batch; the sequence model (BatchNorm: each rank normalises its own share
// of the batch, as DDP does) must train graphed as it trains eagerly on the same ranks. Skipped
// where no GPU is visible (as in CI): scripts/gpu_check.sh runs it on the GPU machine.
TEST(DataParallel, RanksSharingOneGpuOverMpiTrainLikeOneRank) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU visible";
  const auto device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(
                                                      test_support::g_group->local_rank % torch::cuda::device_count()));
  auto local = make_local_communicator();
  auto options = training(60);
  for (const std::string model : {"mf", "seq_features"}) {
    options.cuda_graphs = false;
    const auto [one_rank, one_rank_graphed] = train_on(*local, options, 1 << 20, model, device);
    const auto [eager, eager_graphed] = train_on(world(), options, 4096, model, device);
    options.cuda_graphs = true;
    const auto [graphed, graphed_graphed] = train_on(world(), options, 4096, model, device);
    EXPECT_FALSE(eager_graphed) << model;
    EXPECT_TRUE(graphed_graphed) << model;
    // (the embeddings' backward adds with atomics on a GPU: sums in any order)
    if (model == "mf") {
      SCOPED_TRACE("mf: the ranks against one rank");
      expect_same(eager, one_rank, 1e-3, 1e-5);
    }
    SCOPED_TRACE(model + ": graphed against eager steps on the same ranks");
    expect_same(graphed, eager, 1e-3, 1e-5);
  }
}

// Each rank's sparse gradient of a table: rows drawn per rank (overlapping across ranks, some
// repeated within a rank), values multiples of 1/8 so that every order of addition gives the
// same sum: the sparse exchange must then equal the dense all-reduce bit for bit.
torch::Tensor rank_gradient(int64_t rows, int64_t dim, int64_t touched, int rank) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1000 + rank);
  auto index = torch::randint(rows, {touched}, generator, torch::kInt64);
  auto values = torch::randint(-64, 64, {touched, dim}, generator, torch::kInt64).to(torch::kFloat32) / 8.0;
  return torch::sparse_coo_tensor(index.unsqueeze(0), values, {rows, dim});
}

TEST(DataParallel, SparseGradientExchangeSumsLikeTheDenseAllReduce) {
  const int rank = world().rank(), n = world().world_size();
  // Two large tables (their rows travel, packed into one collective) and a small one (cheaper
  // to all-reduce whole), exchanged together.
  struct Case {
    int64_t rows, dim, touched;
  };
  // The last table is not looked up on rank 0 at all (no gradient there).
  const std::vector<Case> cases{{5000, 6, 40}, {12, 6, 30}, {3000, 3, 25}, {800, 4, 10}};
  std::vector<torch::Tensor> tables, expected;
  for (const auto& c : cases) {
    auto table = torch::zeros({c.rows, c.dim}, torch::requires_grad());
    const bool looked_up = !(tables.size() == 3 && rank == 0);
    const int stream = rank + 10 * static_cast<int>(tables.size());
    if (looked_up) table.mutable_grad() = rank_gradient(c.rows, c.dim, c.touched, stream);
    // The reference: every rank's gradient densified and all-reduced, divided by the ranks.
    auto reference = looked_up ? table.grad().to_dense() : torch::zeros({c.rows, c.dim});
    world().all_reduce_sum(reference, "test");
    expected.push_back(reference.div_(n));
    tables.push_back(table);
  }
  SparseGradientExchange exchange(tables, world());
  exchange.exchange();
  for (size_t t = 0; t < tables.size(); ++t) {
    SCOPED_TRACE(cases[t].rows);
    EXPECT_TRUE(tables[t].grad().is_sparse());
    EXPECT_TRUE(torch::equal(tables[t].grad().to_dense(), expected[t]));
  }
  // Only rows some rank touched are in the result: rank 0's missing gradient touched none.
  EXPECT_LE(tables[3].grad()._nnz(), int64_t{10} * (n - 1));
  // Bytes: the counts, the small table whole (with its touched-row column), the large tables'
  // rows and values in slots as large as the busiest rank's: far below the dense tables'.
  EXPECT_LT(exchange.bytes_last_exchange() * 20, exchange.dense_bytes());
  EXPECT_GE(exchange.bytes_last_exchange(), int64_t{n} * 4 * 8 + 12 * 7 * 4);
}

// Sparse table updates train alike on N ranks and on one with the same global batch (the
// exchange averages exactly what one rank's batch would have summed, up to rounding). MF, as in
// the dense test: the BST's BatchNorm normalises each rank's share of the batch on its own.
TEST(DataParallel, SparseEmbeddingUpdatesTrainLikeOneRank) {
  for (const char* optimizer : {"lazy_adam", "rowwise_adagrad"}) {
    SCOPED_TRACE(optimizer);
    auto options = training(60);
    options.embedding_optimizer = optimizer;
    auto local = make_local_communicator();
    const auto reference = train(*local, options, 1 << 20);
    expect_same(train(world(), options, 1 << 20), reference);
  }
}

// One copy of the data per host: every rank loads through the same cache folder at once; exactly
// one of them prepares the data and writes the cache (the others wait on its lock), and every
// rank then maps that one file, with the same samples as the text gives.
TEST(DataParallel, RanksOnAHostShareOnePreparedDataCache) {
  // Rank 0's temporary folder for everyone: its path travels as bytes.
  std::unique_ptr<test_support::TempDir> dir;
  auto path = torch::zeros({4096}, torch::kUInt8);
  if (world().is_root()) {
    dir = std::make_unique<test_support::TempDir>();
    data::SyntheticOptions synthetic;
    synthetic.users = 90;
    synthetic.movies = 50;
    data::write_synthetic_movielens(dir->path() + "/ml", data::Release::kMovieLens1M, synthetic);
    std::memcpy(path.data_ptr(), dir->path().c_str(), dir->path().size());
  }
  world().broadcast(path, 0, "test: folder");
  const std::string root(reinterpret_cast<const char*>(path.data_ptr()));
  config::Config::Data options;
  options.dir = root + "/ml";
  options.cache_dir = root + "/cache";
  options.windows = "gathered";
  const data::LoadedData loaded = data::load_data(options);

  auto built = torch::full({1}, loaded.cache_built ? 1 : 0, torch::kInt64);
  world().all_reduce_sum(built, "test: builders");
  EXPECT_EQ(built.item<int64_t>(), 1);  // one rank prepared it; the others mapped its file
  ASSERT_FALSE(loaded.cache_file.empty());
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  EXPECT_NE(text.str().find(loaded.cache_file), std::string::npos) << "rank " << world().rank() << " has not mapped it";
  // The same file and the same samples on every rank, and as the text gives them.
  auto crc = torch::full({1}, static_cast<int64_t>(loaded.train.checksum()), torch::kInt64);
  auto sum = crc.clone();
  world().all_reduce_sum(sum, "test: checksums");
  EXPECT_EQ(sum.item<int64_t>(), crc.item<int64_t>() * world().world_size());
  config::Config::Data from_text = options;
  from_text.cache_dir.clear();
  EXPECT_EQ(data::data_fingerprint(loaded), data::data_fingerprint(data::load_data(from_text)));
  world().barrier("test: done with the folder");  // before rank 0 removes it
}

TEST(DataParallel, BucketsFollowReverseParameterOrderWithinTheSizeLimit) {
  torch::manual_seed(0);
  auto model = models::make_model(model_options("seq_features"), data().info);
  auto params = model->parameters();
  GradientSynchronizer sync(params, world(), 16 * 1024);
  ASSERT_GT(sync.bucket_count(), 2u);
  size_t expected = params.size();
  for (const auto& bucket : sync.bucket_layout()) {
    int64_t bytes = 0;
    for (size_t q : bucket) {
      EXPECT_EQ(q, --expected);
      bytes += params[q].numel() * params[q].element_size();
    }
    if (bucket.size() > 1) EXPECT_LE(bytes, 16 * 1024);
  }
  EXPECT_EQ(expected, 0u);
}

TEST(DataParallel, RanksStartFromRankZerosModelAndShareBatchNormStatistics) {
  // Each rank initialises differently; the trainer must make them all rank 0's.
  torch::manual_seed(100 + world().rank());
  auto model = models::make_model(model_options("seq"), data().info);
  train::Trainer trainer(model, training(60), world(), torch::Device(torch::kCPU));
  auto same_everywhere = [&](const std::vector<torch::Tensor>& tensors) {
    for (const auto& t : tensors) {
      auto mine = t.detach().clone();
      auto root = mine.clone();
      world().broadcast(root, 0, "test");
      if (!torch::equal(mine, root)) return false;
    }
    return true;
  };
  EXPECT_TRUE(same_everywhere(model->parameters()));
  trainer.fit(data().train, data().valid);
  trainer.evaluate(data().valid);  // broadcasts rank 0's running statistics first
  EXPECT_TRUE(same_everywhere(model->buffers()));
  EXPECT_TRUE(same_everywhere(model->parameters()));
}

}  // namespace
}  // namespace mlrec::dist
