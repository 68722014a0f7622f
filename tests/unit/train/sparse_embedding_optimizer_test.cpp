// Sparse embedding updates (train.embedding_optimizer): the rows a step did not touch keep their
// values bit for bit; the touched rows move exactly as the documented update says; lazy Adam
// over a step that touches every row is AdamW; the state survives a checkpoint; and whole
// trainings with them learn.
#include "mlrec/train/sparse_embedding_optimizer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mlrec/models/registry.h"
#include "mlrec/train/adamw.h"
#include "mlrec/train/trainer.h"
#include "support/synthetic_fixture.h"

namespace mlrec::train {
namespace {

torch::Tensor sparse_rows(const std::vector<int64_t>& rows, const torch::Tensor& values, int64_t table_rows) {
  auto index = torch::tensor(rows, torch::kInt64).unsqueeze(0);
  return torch::sparse_coo_tensor(index, values, {table_rows, values.size(1)});
}

TEST(SparseEmbeddingOptimizer, LazyAdamMovesOnlyTouchedRowsAsAdamW) {
  torch::manual_seed(3);
  auto table = torch::randn({10, 4}).requires_grad_();
  const auto before = table.detach().clone();
  SparseEmbeddingOptimizer optimizer({table}, EmbeddingOptimizerKind::kLazyAdam, 0.999, 1e-8, 0.01);
  // Row 3 twice: its gradients add up.
  const auto values = torch::randn({3, 4});
  table.mutable_grad() = sparse_rows({1, 3, 3}, values, 10);
  optimizer.step(/*lr=*/0.1, /*beta1=*/0.9);
  EXPECT_EQ(optimizer.rows_updated(), 2);
  for (int64_t r : {0, 2, 4, 5, 6, 7, 8, 9}) EXPECT_TRUE(torch::equal(table[r], before[r])) << "row " << r;
  // The first AdamW step by hand: m = 0.1 g, v = 0.001 g^2, corrections 0.1 and 0.001.
  auto g3 = values[1] + values[2];
  for (const auto& [row, g] : {std::pair<int64_t, torch::Tensor>{1, values[0]}, {3, g3}}) {
    auto expected = before[row] * (1 - 0.1 * 0.01) - 0.1 * (0.1 * g / 0.1) / ((0.001 * g * g / 0.001).sqrt() + 1e-8);
    EXPECT_TRUE(torch::allclose(table[row], expected, 1e-5, 1e-6)) << "row " << row;
  }
}

TEST(SparseEmbeddingOptimizer, LazyAdamTouchingEveryRowIsAdamW) {
  torch::manual_seed(4);
  auto lazy_table = torch::randn({6, 3}).requires_grad_();
  auto dense_table = lazy_table.detach().clone().requires_grad_();
  SparseEmbeddingOptimizer lazy({lazy_table}, EmbeddingOptimizerKind::kLazyAdam, 0.99, 1e-8, 0.01);
  FusedAdamW adamw({dense_table}, 0.99, 1e-8, 0.01);
  for (int step = 0; step < 4; ++step) {
    const auto g = torch::randn({6, 3});
    lazy_table.mutable_grad() = sparse_rows({0, 1, 2, 3, 4, 5}, g, 6);
    dense_table.mutable_grad() = g.clone();
    const double beta1 = 0.85 + 0.02 * step;  // cycled momentum, as OneCycle does
    lazy.step(0.05, beta1);
    adamw.step(0.05, beta1);
  }
  EXPECT_TRUE(torch::allclose(lazy_table, dense_table, 1e-5, 1e-6))
      << (lazy_table - dense_table).abs().max().item<double>();
}

// Float32 tables on the CPU take the one-pass loop; others (a GPU's, here float64) the tensor
// ops: both compute the same update.
TEST(SparseEmbeddingOptimizer, TheCpuLoopAndTheTensorOpsAgree) {
  for (auto kind : {EmbeddingOptimizerKind::kLazyAdam, EmbeddingOptimizerKind::kRowwiseAdagrad}) {
    torch::manual_seed(5);
    auto loop_table = torch::randn({20, 5}).requires_grad_();
    auto ops_table = loop_table.detach().to(torch::kFloat64).requires_grad_();
    SparseEmbeddingOptimizer loop({loop_table}, kind, 0.999, 1e-8, 0.01);
    SparseEmbeddingOptimizer ops({ops_table}, kind, 0.999, 1e-8, 0.01);
    for (int step = 0; step < 3; ++step) {
      const auto values = torch::randn({4, 5});
      const std::vector<int64_t> rows{2, 7, 7 + step, 19};
      loop_table.mutable_grad() = sparse_rows(rows, values, 20);
      ops_table.mutable_grad() = sparse_rows(rows, values.to(torch::kFloat64), 20);
      loop.step(0.05, 0.9);
      ops.step(0.05, 0.9);
    }
    EXPECT_TRUE(torch::allclose(loop_table.to(torch::kFloat64), ops_table, 1e-5, 1e-6));
  }
}

TEST(SparseEmbeddingOptimizer, RowwiseAdagradKeepsOneAccumulatorPerRow) {
  auto table = torch::ones({5, 2}).requires_grad_();
  SparseEmbeddingOptimizer optimizer({table}, EmbeddingOptimizerKind::kRowwiseAdagrad, 0.999, 1e-10, 0);
  table.mutable_grad() = sparse_rows({2}, torch::tensor({{3.0f, 4.0f}}), 5);
  optimizer.step(0.5, 0.9);
  // accumulator = mean(9, 16) = 12.5; row 2 -= 0.5 * g / sqrt(12.5)
  const double scale = 0.5 / std::sqrt(12.5);
  EXPECT_NEAR(table[2][0].item<double>(), 1 - 3 * scale, 1e-6);
  EXPECT_NEAR(table[2][1].item<double>(), 1 - 4 * scale, 1e-6);
  EXPECT_TRUE(torch::equal(table[0], torch::ones({2})));
  const auto state = optimizer.state();
  ASSERT_EQ(state.size(), 2u);  // one accumulator per row and the step count: no moments
  EXPECT_EQ(state[0].first, "table_row_sum/0");
  EXPECT_EQ(state[0].second.sizes(), torch::IntArrayRef({5}));
  EXPECT_NEAR(state[0].second[2].item<double>(), 12.5, 1e-6);
}

TEST(SparseEmbeddingOptimizer, ADenseGradientUpdatesEveryRowAndStateRoundTrips) {
  auto table = torch::zeros({4, 2}).requires_grad_();
  SparseEmbeddingOptimizer optimizer({table}, EmbeddingOptimizerKind::kLazyAdam, 0.999, 1e-8, 0);
  table.mutable_grad() = torch::ones({4, 2});
  optimizer.step(0.1, 0.9);
  EXPECT_EQ(optimizer.rows_updated(), 4);
  EXPECT_TRUE(torch::allclose(table, torch::full({4, 2}, -0.1), 1e-5, 1e-6));
  auto copy_table = torch::zeros({4, 2}).requires_grad_();
  SparseEmbeddingOptimizer copy({copy_table}, EmbeddingOptimizerKind::kLazyAdam, 0.999, 1e-8, 0);
  std::vector<std::pair<std::string, torch::Tensor>> saved;
  for (const auto& [name, tensor] : optimizer.state()) saved.emplace_back(name, tensor.clone());
  copy.load_state(saved);
  for (size_t i = 0; i < saved.size(); ++i) EXPECT_TRUE(torch::equal(copy.state()[i].second, saved[i].second));
  SparseEmbeddingOptimizer adagrad({copy_table}, EmbeddingOptimizerKind::kRowwiseAdagrad, 0.999, 1e-8, 0);
  EXPECT_THROW(adagrad.load_state(saved), c10::Error);  // another optimizer's state does not fit
}

// Whole trainings: MF and the BST with user features (whose position table arrives dense) learn
// with each sparse variant, and an MF user never seen in training keeps its initial row.
TEST(SparseEmbeddingOptimizer, TrainingsWithSparseTablesLearn) {
  test_support::SyntheticData data(150, 60, 11);
  for (const char* model_name : {"mf", "seq_features"}) {
    for (const char* optimizer : {"lazy_adam", "rowwise_adagrad"}) {
      SCOPED_TRACE(std::string(model_name) + " " + optimizer);
      torch::manual_seed(0);
      auto model_options = test_support::small_model(model_name);
      auto model = models::make_model(model_options, data.info);
      const auto first = model->parameters().front().detach().clone();
      config::Config::Train options;
      options.epochs = 3;
      options.batch_size = 64;
      options.patience = 0;
      options.log_every_steps = 0;
      options.threads = 1;
      options.lr = std::string(optimizer) == "rowwise_adagrad" ? 0.05 : 0.01;
      options.embedding_optimizer = optimizer;
      auto local = dist::make_local_communicator();
      Trainer trainer(model, options, *local, torch::Device(torch::kCPU));
      const Metrics untrained = trainer.evaluate(data.valid);
      const FitResult fit = trainer.fit(data.train, data.valid);
      ASSERT_EQ(fit.epochs.size(), 3u);
      EXPECT_LT(fit.epochs.back().valid.mse, untrained.mse);
      // Row 0 is padding: never looked up with a gradient, never moved (weight decay included).
      EXPECT_TRUE(torch::equal(model->parameters().front()[0], first[0]));
    }
  }
}

}  // namespace
}  // namespace mlrec::train
