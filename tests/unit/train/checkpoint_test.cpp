#include "mlrec/train/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "mlrec/common/error.h"
#include "mlrec/models/registry.h"
#include "support/synthetic_fixture.h"

namespace mlrec::train {
namespace {

config::Config::Model mf(int factors) {
  config::Config::Model m;
  m.name = "mf";
  m.factors = factors;
  return m;
}

TEST(Checkpoint, RoundTripsParametersAndBuffers) {
  test_support::SyntheticData d(30, 20);
  test_support::TempDir tmp;
  torch::manual_seed(1);
  auto a = models::make_model(mf(8), d.info);
  torch::manual_seed(2);
  auto b = models::make_model(mf(8), d.info);
  const std::string path = tmp.file("best.pt");
  save_checkpoint(*a, path);
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
    EXPECT_EQ(entry.path().filename(), "best.pt");  // no temporary file left behind
  }
  ASSERT_FALSE(torch::equal(a->parameters()[0], b->parameters()[0]));
  load_checkpoint(*b, path);
  for (size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
  }
}

TEST(Checkpoint, MissingFileOrOtherModelIsAnInputErrorNamingTheFile) {
  test_support::SyntheticData d(30, 20);
  test_support::TempDir tmp;
  auto small = models::make_model(mf(8), d.info);
  auto large = models::make_model(mf(16), d.info);
  const std::string path = tmp.file("small.pt");
  save_checkpoint(*small, path);
  try {
    load_checkpoint(*large, path);
    FAIL() << "loaded a checkpoint of another shape";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
  EXPECT_THROW(load_checkpoint(*small, tmp.file("none.pt")), InputError);
}

TEST(StateSnapshot, RestoreUndoesLaterChanges) {
  test_support::SyntheticData d(30, 20);
  auto model = models::make_model(mf(8), d.info);
  auto state = capture_state(*model);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(1.0);
  }
  restore_state(*model, state);
  for (size_t i = 0; i < state.size(); ++i) {
    EXPECT_TRUE(torch::equal(model->named_parameters()[state[i].first], state[i].second));
  }
}

}  // namespace
}  // namespace mlrec::train
