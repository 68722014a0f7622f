#include "mlrec/config/config.h"
#include "mlrec/config/sweep.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "mlrec/common/error.h"
#include "support/temp_dir.h"

#ifndef MLREC_SOURCE_DIR
#define MLREC_SOURCE_DIR "."
#endif

namespace mlrec::config {
namespace {

using Overrides = std::vector<std::string>;

Config from_yaml(const std::string& text, const Overrides& ov = {}) {
  return config_from_yaml_string(text, ov, "test.yaml");
}

// Runs `fn`, expects an exception of type E whose message contains every one of `needles`.
template <class E, class Fn>
void expect_error(Fn fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "no exception thrown; expected one containing '" << needles.front() << "'";
  } catch (const E& e) {
    const std::string what = e.what();
    for (const auto& n : needles) EXPECT_NE(what.find(n), std::string::npos) << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

void expect_config_error(const std::string& yaml, const Overrides& ov,
                         const std::vector<std::string>& needles) {
  expect_error<ConfigError>([&] { from_yaml(yaml, ov); }, needles);
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

// ------------------------------------------------------------------------------------------
// Defaults and the table

TEST(ConfigDefaults, AreTheStudyValues) {
  const Config c = default_config();
  EXPECT_EQ(c.data.dir, "data/ml-1m");
  EXPECT_EQ(c.data.valid_per_user, 1);
  EXPECT_EQ(c.data.min_ratings_per_user, 0);
  EXPECT_EQ(c.data.sequence_length, 10);
  EXPECT_EQ(c.model.name, "seq_features");
  EXPECT_EQ(c.model.factors, 120);
  EXPECT_DOUBLE_EQ(c.model.embedding_init_std, 1.0);
  EXPECT_EQ(c.model.embedding_dim, 120);
  EXPECT_EQ(c.model.heads, 12);
  EXPECT_EQ(c.model.ff_dim, 2048);
  EXPECT_EQ(c.model.encoder_layers, 1);
  EXPECT_DOUBLE_EQ(c.model.dropout, 0.1);
  EXPECT_EQ(c.model.mlp_dims, (std::vector<int>{1024, 512, 256}));
  EXPECT_DOUBLE_EQ(c.model.mlp_dropout, 0.2);
  EXPECT_EQ(c.model.sex_dim, 2);
  EXPECT_EQ(c.model.age_dim, 4);
  EXPECT_EQ(c.model.occupation_dim, 11);
  EXPECT_EQ(c.train.epochs, 10);
  EXPECT_EQ(c.train.batch_size, 1024);
  EXPECT_EQ(c.train.seed, 42);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.01);
  EXPECT_DOUBLE_EQ(c.train.weight_decay, 0.01);
  EXPECT_DOUBLE_EQ(c.train.beta1, 0.9);
  EXPECT_DOUBLE_EQ(c.train.beta2, 0.999);
  EXPECT_DOUBLE_EQ(c.train.eps, 1e-8);
  EXPECT_EQ(c.train.schedule, "onecycle");
  EXPECT_DOUBLE_EQ(c.train.pct_start, 0.3);
  EXPECT_DOUBLE_EQ(c.train.div_factor, 25);
  EXPECT_DOUBLE_EQ(c.train.final_div_factor, 1e4);
  EXPECT_TRUE(c.train.cycle_momentum);
  EXPECT_DOUBLE_EQ(c.train.base_momentum, 0.85);
  EXPECT_DOUBLE_EQ(c.train.max_momentum, 0.95);
  EXPECT_EQ(c.train.patience, 2);
  EXPECT_DOUBLE_EQ(c.train.early_stopping_threshold, 0.001);
  EXPECT_EQ(c.train.max_steps_per_epoch, 0);
  EXPECT_EQ(c.train.eval_batch_size, 8192);
  EXPECT_EQ(c.train.device, "auto");
  EXPECT_EQ(c.train.threads, 0);
  EXPECT_EQ(c.train.precision, "fp32");
  EXPECT_EQ(c.train.log_every_steps, 100);
  EXPECT_EQ(c.output.dir, "runs/seq_features");
  EXPECT_TRUE(c.output.save_checkpoint);
  EXPECT_EQ(c.dist.backend, "auto");
  EXPECT_DOUBLE_EQ(c.dist.timeout_seconds, 300);
  EXPECT_EQ(c.dist.bucket_mb, 1);
  EXPECT_NO_THROW(validate(c));
}

TEST(ConfigDefaults, EmptyYamlAndEmptySectionsGiveDefaults) {
  EXPECT_EQ(to_yaml(from_yaml("")), to_yaml(default_config()));
  EXPECT_EQ(to_yaml(from_yaml("# only a comment\n")), to_yaml(default_config()));
  EXPECT_EQ(to_yaml(from_yaml("train:\nmodel: {}\n")), to_yaml(default_config()));
  EXPECT_EQ(to_yaml(load_config("", {})), to_yaml(default_config()));
}

TEST(ParamSpecs, KeysAreUniqueAndCoverScriptKeys) {
  std::set<std::string> keys;
  for (const auto& s : param_specs()) {
    EXPECT_TRUE(keys.insert(s.key).second) << "duplicate " << s.key;
    EXPECT_FALSE(s.help.empty()) << s.key;
    EXPECT_NE(s.key.find('.'), std::string::npos) << s.key;
  }
  for (const char* k : {"data.dir", "output.dir", "train.epochs", "train.batch_size",
                        "train.seed", "train.max_steps_per_epoch", "model.mlp_dims",
                        "dist.timeout_seconds", "train.accumulation_steps"}) {
    EXPECT_TRUE(keys.count(k)) << k;
    EXPECT_NE(find_param(k), nullptr) << k;
  }
  EXPECT_EQ(find_param("train.nope"), nullptr);
  EXPECT_EQ(keys.size(), 99u);  // update when adding a parameter (and its test)
}

TEST(ParamSpecs, EveryKeyIsBoundToItsOwnField) {
  // Setting each key through the table must change that key, and only that key.
  const Config base = default_config();
  const std::string base_yaml = to_yaml(base);
  for (const auto& spec : param_specs()) {
    Config c = base;
    const std::string before = param_text(c, spec.key);
    std::string alt;
    switch (spec.type) {
      case ParamType::kBool: alt = before == "true" ? "false" : "true"; break;
      case ParamType::kInt:
      case ParamType::kInt64: alt = before == "3" ? "4" : "3"; break;
      case ParamType::kDouble: alt = before == "0.5" ? "0.25" : "0.5"; break;
      case ParamType::kString:
        alt = spec.allowed.empty() ? before + "_x"
                                   : (spec.allowed[0] == before ? spec.allowed[1] : spec.allowed[0]);
        break;
      case ParamType::kIntList: alt = "[7, 5]"; break;
    }
    set_param(c, spec.key, alt);
    EXPECT_EQ(param_text(c, spec.key), alt) << spec.key;
    for (const auto& other : param_specs()) {
      if (other.key == spec.key) continue;
      EXPECT_EQ(param_text(c, other.key), param_text(base, other.key))
          << "setting " << spec.key << " changed " << other.key;
    }
  }
  EXPECT_EQ(to_yaml(base), base_yaml);
}

// ------------------------------------------------------------------------------------------
// YAML parsing

TEST(ConfigYaml, ParsesNestedSections) {
  const Config c = from_yaml(R"(
data:
  dir: /tmp/ml
  sequence_length: 8
model:
  name: mf
  factors: 64
  mlp_dims: [64, 32]
  dropout: 0.25
train:
  lr: 3e-4
  eps: 1e-8
  seed: 1234567890123
  cycle_momentum: false
  max_steps_per_epoch: 20
  device: cpu
output: {dir: runs/x, save_checkpoint: false}
dist:
  backend: nccl
  timeout_seconds: 60
)");
  EXPECT_EQ(c.data.dir, "/tmp/ml");
  EXPECT_EQ(c.data.sequence_length, 8);
  EXPECT_EQ(c.model.name, "mf");
  EXPECT_EQ(c.model.factors, 64);
  EXPECT_EQ(c.model.mlp_dims, (std::vector<int>{64, 32}));
  EXPECT_DOUBLE_EQ(c.model.dropout, 0.25);
  EXPECT_DOUBLE_EQ(c.train.lr, 3e-4);
  EXPECT_DOUBLE_EQ(c.train.eps, 1e-8);
  EXPECT_EQ(c.train.seed, 1234567890123LL);
  EXPECT_FALSE(c.train.cycle_momentum);
  EXPECT_EQ(c.train.max_steps_per_epoch, 20);
  EXPECT_EQ(c.train.device, "cpu");
  EXPECT_EQ(c.output.dir, "runs/x");
  EXPECT_FALSE(c.output.save_checkpoint);
  EXPECT_EQ(c.dist.backend, "nccl");
  EXPECT_DOUBLE_EQ(c.dist.timeout_seconds, 60);
  // Untouched keys keep their defaults.
  EXPECT_EQ(c.train.epochs, 10);
  EXPECT_EQ(c.model.heads, 12);
}

TEST(ConfigYaml, AcceptsIntegersForDoublesAndQuotedStrings) {
  const Config c = from_yaml("train: {div_factor: 10, lr: 1}\ndata: {dir: \"my data\"}\n");
  EXPECT_DOUBLE_EQ(c.train.div_factor, 10);
  EXPECT_DOUBLE_EQ(c.train.lr, 1);
  EXPECT_EQ(c.data.dir, "my data");
}

TEST(ConfigYaml, LoadsFromFile) {
  const std::string path = write_temp("mlrec_config_test.yaml", "train:\n  epochs: 3\n");
  const Config c = load_config(path, {"train.batch_size=16"});
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_EQ(c.train.batch_size, 16);
  std::remove(path.c_str());
}

// ------------------------------------------------------------------------------------------
// Overrides

TEST(ConfigOverrides, ParseEveryType) {
  const Config c = from_yaml("", {"train.epochs=5", "train.lr=0.5", "train.eps=1e-6",
                                  "output.save_checkpoint=false", "model.name=seq",
                                  "model.mlp_dims=[64,32]", "train.seed=7",
                                  " data.dir = /a/b ", "train.max_steps_per_epoch=20"});
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.5);
  EXPECT_DOUBLE_EQ(c.train.eps, 1e-6);
  EXPECT_FALSE(c.output.save_checkpoint);
  EXPECT_EQ(c.model.name, "seq");
  EXPECT_EQ(c.model.mlp_dims, (std::vector<int>{64, 32}));
  EXPECT_EQ(c.train.seed, 7);
  EXPECT_EQ(c.data.dir, "/a/b");
  EXPECT_EQ(c.train.max_steps_per_epoch, 20);
}

TEST(ConfigOverrides, IntListForms) {
  EXPECT_EQ(from_yaml("", {"model.mlp_dims=64,32"}).model.mlp_dims, (std::vector<int>{64, 32}));
  EXPECT_EQ(from_yaml("", {"model.mlp_dims=[ 64, 32, 8 ]"}).model.mlp_dims,
            (std::vector<int>{64, 32, 8}));
  EXPECT_EQ(from_yaml("", {"model.mlp_dims=16"}).model.mlp_dims, (std::vector<int>{16}));
  EXPECT_EQ(from_yaml("model: {mlp_dims: 8}").model.mlp_dims, (std::vector<int>{8}));
}

TEST(ConfigOverrides, ValueMayContainEqualsAndQuotes) {
  EXPECT_EQ(from_yaml("", {"data.dir=a=b"}).data.dir, "a=b");
  EXPECT_EQ(from_yaml("", {"data.dir=\"my dir\""}).data.dir, "my dir");
}

TEST(ConfigOverrides, ApplyAfterYamlAndLastWins) {
  const Config c = from_yaml("train: {epochs: 3, lr: 0.1}\n",
                             {"train.epochs=4", "train.epochs=6", "model.mlp_dims=1",
                              "model.mlp_dims=[2,3]"});
  EXPECT_EQ(c.train.epochs, 6);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.1);
  EXPECT_EQ(c.model.mlp_dims, (std::vector<int>{2, 3}));
}

TEST(ConfigOverrides, CrossKeyChecksRunAfterAllOverrides) {
  // 128 is not divisible by 12, but is by 8: valid once both overrides are applied.
  const Config c = from_yaml("", {"model.embedding_dim=128", "model.heads=8"});
  EXPECT_EQ(c.model.embedding_dim, 128);
  EXPECT_EQ(c.model.heads, 8);
}

// ------------------------------------------------------------------------------------------
// to_yaml

TEST(ConfigToYaml, RoundTripsDefaults) {
  const Config d = default_config();
  const std::string y = to_yaml(d);
  EXPECT_EQ(to_yaml(from_yaml(y)), y);
  for (const auto& spec : param_specs()) {
    const std::string leaf = spec.key.substr(spec.key.find('.') + 1);
    EXPECT_NE(y.find(leaf + ":"), std::string::npos) << spec.key << " missing from\n" << y;
  }
}

TEST(ConfigToYaml, RoundTripsNonDefaultValuesExactly) {
  Config c = from_yaml("", {"train.lr=0.000123456789", "train.eps=1e-12", "train.seed=9007199254740993",
                            "data.dir=dir with: colon # and hash", "model.mlp_dims=[3]",
                            "train.cycle_momentum=false", "dist.timeout_seconds=0.1",
                            "output.dir=true", "model.name=baseline"});
  const Config back = from_yaml(to_yaml(c));
  EXPECT_EQ(to_yaml(back), to_yaml(c));
  EXPECT_EQ(back.train.lr, c.train.lr);  // exact, not approximate
  EXPECT_EQ(back.train.eps, 1e-12);
  EXPECT_EQ(back.dist.timeout_seconds, 0.1);
  EXPECT_EQ(back.train.seed, 9007199254740993LL);
  EXPECT_EQ(back.data.dir, "dir with: colon # and hash");
  EXPECT_EQ(back.output.dir, "true");
  EXPECT_EQ(back.model.mlp_dims, (std::vector<int>{3}));
  EXPECT_FALSE(back.train.cycle_momentum);
}

TEST(ConfigToYaml, WritesReadableNumbers) {
  const std::string y = to_yaml(default_config());
  EXPECT_NE(y.find("lr: 0.01"), std::string::npos) << y;
  EXPECT_NE(y.find("eps: 1e-8"), std::string::npos) << y;
  EXPECT_NE(y.find("final_div_factor: 10000"), std::string::npos) << y;
  EXPECT_NE(y.find("mlp_dims: [1024, 512, 256]"), std::string::npos) << y;
  EXPECT_NE(y.find("cycle_momentum: true"), std::string::npos) << y;
}

// ------------------------------------------------------------------------------------------
// Help

TEST(ConfigHelp, ListsEveryKeyWithTypeDefaultAndRange) {
  const std::string h = help_text();
  for (const auto& spec : param_specs()) {
    EXPECT_NE(h.find("  " + spec.key + " (" + spec.type_name() + ", default " +
                     spec.default_text()),
              std::string::npos)
        << spec.key;
    EXPECT_NE(h.find(spec.help), std::string::npos) << spec.key;
  }
  EXPECT_NE(h.find("train.lr (float, default 0.01; > 0)"), std::string::npos) << h;
  EXPECT_NE(h.find("model.dropout (float, default 0.1; in [0, 1))"), std::string::npos) << h;
  EXPECT_NE(h.find("one of: auto, cpu, cuda"), std::string::npos) << h;
  EXPECT_NE(h.find("model.mlp_dims (int list, default [1024, 512, 256]; non-empty, each >= 1)"),
            std::string::npos)
      << h;
}

// ------------------------------------------------------------------------------------------
// Errors

TEST(ConfigErrors, UnknownKeyNamesFullDottedKeyAndSuggests) {
  expect_config_error("train:\n  lrr: 0.1\n", {}, {"'train.lrr'", "unknown key", "'train.lr'",
                                                   "test.yaml"});
  expect_config_error("trian:\n  lr: 0.1\n", {}, {"'trian'", "did you mean 'train'"});
  expect_config_error("train:\n  completely_unrelated_name: 1\n", {},
                      {"'train.completely_unrelated_name'", "unknown key"});
  expect_config_error("", {"train.epoch=3"}, {"'train.epoch'", "'train.epochs'", "override"});
  expect_config_error("", {"nosuch=3"}, {"'nosuch'", "unknown key"});
}

TEST(ConfigErrors, SectionAndKeyShapeMismatch) {
  expect_config_error("train: 5\n", {}, {"'train'", "expected a map"});
  expect_config_error("train:\n  lr:\n    x: 1\n", {}, {"'train.lr'", "expected a number", "map"});
  expect_config_error("train:\n  epochs: [1, 2]\n", {}, {"'train.epochs'", "expected an integer"});
  expect_config_error("data:\n  dir:\n", {}, {"'data.dir'", "expected a string", "empty"});
  expect_config_error("model:\n  mlp_dims: {a: 1}\n", {}, {"'model.mlp_dims'", "list of integers"});
  expect_config_error("model:\n  mlp_dims: [1, [2]]\n", {}, {"'model.mlp_dims'", "element 1"});
  expect_config_error("", {"train=3"}, {"'train'", "section"});
}

TEST(ConfigErrors, DuplicateKey) {
  expect_config_error("train:\n  lr: 0.1\n  lr: 0.2\n", {}, {"'train.lr'", "duplicate"});
  // The same key dotted and nested: the later one won without a word.
  expect_config_error("train: {lr: 0.02}\ntrain.lr: 0.5\n", {}, {"'train.lr'", "given twice"});
  expect_config_error("data.interactions.user: a\ndata:\n  interactions: {user: b}\n", {},
                      {"'data.interactions.user'", "given twice"});
}

TEST(ConfigErrors, ASecondYamlDocumentIsRefused) {
  // YAML::Load read the first document only: the second, even invalid, was never applied or checked.
  expect_error<InputError>([] { from_yaml("train: {lr: 0.1}\n---\nmodel: {name: bogus}\n"); },
                           {"test.yaml:3:", "a second YAML document"});
}

TEST(ConfigInteractions, ABackslashTIsATabAsTheHelpSays) {
  // --set 'data.interactions.delimiter=\t' in a shell gives backslash and t: refused, with a
  // message that offered "\t" as the fix.
  EXPECT_EQ(from_yaml("", {"data.interactions.delimiter=\\t"}).data.interactions.delimiter, "\\t");
}

TEST(ConfigErrors, AFolderIsNotAConfigFile) {
  // An ifstream reads a folder as empty: every key took its default, and the run went ahead.
  expect_error<InputError>([] { load_config("/tmp", {}); }, {"/tmp: is a folder, not a file"});
}

TEST(ConfigErrors, WrongScalarTypes) {
  expect_config_error("train: {lr: abc}\n", {},
                      {"config key 'train.lr': expected a number, got 'abc'"});
  expect_config_error("", {"train.lr=abc"}, {"config key 'train.lr': expected a number, got 'abc'"});
  expect_config_error("train: {epochs: 1.5}\n", {}, {"'train.epochs'", "expected an integer", "1.5"});
  expect_config_error("", {"train.epochs=1e3"}, {"'train.epochs'", "expected an integer"});
  expect_config_error("", {"train.epochs=12abc"}, {"'train.epochs'", "expected an integer"});
  expect_config_error("", {"train.epochs= "}, {"'train.epochs'", "expected an integer"});
  expect_config_error("", {"train.lr=0.1x"}, {"'train.lr'", "expected a number"});
  expect_config_error("", {"train.lr=nan"}, {"'train.lr'", "expected a number"});
  expect_config_error("", {"train.lr=inf"}, {"'train.lr'", "expected a number"});
  expect_config_error("", {"train.lr=1e999"}, {"'train.lr'", "range"});
  for (const char* b : {"yes", "maybe", "1", "0", "True", "on"}) {
    expect_config_error(std::string("output: {save_checkpoint: ") + b + "}\n", {},
                        {"'output.save_checkpoint'", "expected true or false"});
    expect_config_error("", {std::string("output.save_checkpoint=") + b},
                        {"'output.save_checkpoint'", "expected true or false"});
  }
  expect_config_error("", {"model.mlp_dims=[64,x]"}, {"'model.mlp_dims'", "element 1"});
  expect_config_error("", {"model.mlp_dims=[64,32"}, {"'model.mlp_dims'", "list of integers"});
  expect_config_error("", {"model.mlp_dims=64,"}, {"'model.mlp_dims'", "list of integers"});
}

TEST(ConfigErrors, IntegerOverflow) {
  expect_config_error("", {"train.epochs=3000000000"}, {"'train.epochs'", "too large"});
  expect_config_error("", {"train.seed=99999999999999999999"}, {"'train.seed'", "too large"});
  expect_config_error("", {"model.mlp_dims=[1,3000000000]"}, {"'model.mlp_dims'", "too large"});
  EXPECT_EQ(from_yaml("", {"train.seed=9223372036854775807"}).train.seed, INT64_MAX);
}

TEST(ConfigErrors, OutOfRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train.epochs", "0"},
      {"train.batch_size", "0"},
      {"train.lr", "0"},
      {"train.lr", "-0.1"},
      {"model.dropout", "1"},
      {"model.dropout", "-0.1"},
      {"model.mlp_dropout", "1.5"},
      {"train.pct_start", "0"},
      {"train.pct_start", "1"},
      {"model.heads", "0"},
      {"model.neighbours", "0"},
      {"model.shrinkage", "-1"},
      {"model.recent_weight", "0"},
      {"model.sweeps", "0"},
      {"model.burn_in", "-1"},
      {"model.keep_every", "0"},
      {"blend.member_seeds", "0"},
      {"dist.timeout_seconds", "0"},
      {"data.valid_per_user", "0"},
      {"data.sequence_length", "1"},
      {"train.max_steps_per_epoch", "-1"},
      {"train.patience", "-1"},
      {"train.seed", "-5"},
      {"data.dir", ""},
  };
  for (const auto& [key, value] : cases) {
    SCOPED_TRACE(key + "=" + value);
    expect_config_error("", {key + "=" + value}, {"'" + key + "'", "must"});
    const std::string leaf = key.substr(key.find('.') + 1);
    const std::string sec = key.substr(0, key.find('.'));
    expect_config_error(sec + ":\n  " + leaf + ": \"" + value + "\"\n", {}, {"'" + key + "'"});
  }
  expect_config_error("", {"train.pct_start=1.5"}, {"must be in (0, 1), got 1.5"});
  expect_config_error("", {"model.mlp_dims=[]"}, {"'model.mlp_dims'", "non-empty"});
  expect_config_error("model: {mlp_dims: []}\n", {}, {"'model.mlp_dims'", "non-empty"});
  expect_config_error("", {"model.mlp_dims=[64,0]"}, {"'model.mlp_dims'", "element 1", ">= 1"});
  // Boundary values are accepted.
  const Config ok = from_yaml("", {"model.dropout=0", "train.patience=0", "data.sequence_length=2",
                                   "train.max_steps_per_epoch=0"});
  EXPECT_DOUBLE_EQ(ok.model.dropout, 0);
}

TEST(ConfigErrors, EnumValues) {
  expect_config_error("", {"model.name=transformer"},
                      {"'model.name'", "one of baseline, mf, mf_history, item_knn, bayes_svdpp, seq, seq_ratings, seq_features",
                       "'transformer'"});
  expect_config_error("train: {device: gpu}\n", {}, {"'train.device'", "gpu"});
  expect_config_error("", {"train.precision=fp16"}, {"'train.precision'"});
  expect_config_error("", {"train.embedding_optimizer=sgd"},
                      {"'train.embedding_optimizer'", "one of dense, lazy_adam, rowwise_adagrad"});
  expect_config_error("", {"train.schedule=cosine"}, {"'train.schedule'"});
  expect_config_error("", {"train.loss=huber"}, {"'train.loss'", "one of mse, mae"});
  expect_config_error("", {"data.windows=lazy"}, {"'data.windows'", "one of auto, materialized, gathered"});
  expect_config_error("", {"dist.backend=gloo"}, {"'dist.backend'"});
  expect_config_error("", {"model.attention=flash"}, {"'model.attention'", "one of auto, torch, short"});
  expect_config_error("", {"model.feed_forward=triton"}, {"'model.feed_forward'", "one of auto, torch, fused"});
  expect_config_error("", {"model.layer_norm=apex"}, {"'model.layer_norm'", "one of auto, torch, mlrec"});
  expect_config_error("", {"model.batch_norm=sync"}, {"'model.batch_norm'", "one of auto, torch, mlrec"});
  expect_config_error("", {"model.linear=cublaslt"}, {"'model.linear'", "one of auto, torch, mlrec"});
}

TEST(ConfigErrors, CrossKeyChecks) {
  expect_config_error("", {"blend.members=configs/mf_tuned.yaml,configs/item_knn.yaml"},
                      {"'data.test_per_user'", "blend"});
  expect_config_error("model: {embedding_dim: 100}\n", {},
                      {"'model.embedding_dim'", "divisible by model.heads"});
  expect_config_error("", {"model.heads=7"}, {"'model.embedding_dim'", "model.heads"});
  expect_config_error("", {"train.base_momentum=0.96"}, {"'train.base_momentum'"});
  // Without momentum cycling the momentum bounds do not interact.
  EXPECT_NO_THROW(from_yaml("", {"train.base_momentum=0.96", "train.cycle_momentum=false"}));
  Config c = default_config();
  c.model.heads = 7;
  expect_error<ConfigError>([&] { validate(c); }, {"'model.embedding_dim'"});
  c = default_config();
  c.train.lr = -1;
  expect_error<ConfigError>([&] { validate(c); }, {"'train.lr'"});
}

TEST(ConfigErrors, MalformedOverride) {
  expect_config_error("", {"train.lr"}, {"malformed override 'train.lr': expected KEY=VALUE"});
  expect_config_error("", {"=5"}, {"'=5'", "KEY=VALUE"});
  expect_config_error("", {""}, {"override", "KEY=VALUE"});
}

TEST(ConfigErrors, YamlSyntaxErrorIsInputErrorWithLine) {
  expect_error<InputError>([] { from_yaml("train:\n  lr: 0.1\n  epochs: [1, 2\n"); },
                           {"test.yaml:"});
  expect_error<InputError>([] { from_yaml("train:\n  lr: 0.1\n bad: : x\n"); }, {"test.yaml:3:"});
  expect_error<InputError>([] { from_yaml("- a\n- b\n"); }, {"test.yaml", "map"});
  const std::string path = write_temp("mlrec_config_bad.yaml", "train:\n  lr: [0.1\n");
  expect_error<InputError>([&] { load_config(path, {}); }, {path + ":"});
  std::remove(path.c_str());
}

TEST(ConfigErrors, MissingFile) {
  expect_error<InputError>([] { load_config("/nonexistent/dir/cfg.yaml", {}); },
                           {"/nonexistent/dir/cfg.yaml: cannot open config file"});
}

TEST(ConfigErrors, ErrorsFromFilesNameTheFile) {
  const std::string path = write_temp("mlrec_config_badval.yaml", "train:\n  epochs: zero\n");
  expect_error<ConfigError>([&] { load_config(path, {}); }, {"'train.epochs'", path});
  std::remove(path.c_str());
}

// ------------------------------------------------------------------------------------------
// Shipped configs

std::string shipped(const std::string& name) {
  return std::string(MLREC_SOURCE_DIR) + "/configs/" + name + ".yaml";
}

TEST(ShippedConfigs, StudyConfigsLoad) {
  struct Expect {
    const char* file;
    const char* model;
    int epochs;
  };
  for (const Expect& e : {Expect{"baseline", "baseline", 1}, Expect{"mf", "mf", 30},
                          Expect{"seq", "seq", 10}, Expect{"seq_ratings", "seq_ratings", 10},
                          Expect{"seq_features", "seq_features", 10}}) {
    SCOPED_TRACE(e.file);
    Config c;
    ASSERT_NO_THROW(c = load_config(shipped(e.file), {}));
    EXPECT_EQ(c.model.name, e.model);
    EXPECT_EQ(c.train.epochs, e.epochs);
    EXPECT_EQ(c.data.dir, "data/ml-1m");
    EXPECT_EQ(c.output.dir, std::string("runs/") + e.file);
    // Apart from name, epochs and output dir, the study configs are the defaults.
    Config d = default_config();
    d.model.name = c.model.name;
    d.train.epochs = c.train.epochs;
    d.output.dir = c.output.dir;
    EXPECT_EQ(to_yaml(c), to_yaml(d));
  }
}

// configs/mf_history.yaml is the tuned MF's configuration with the model changed, nothing else:
// the comparison in README's table is of the model alone.
TEST(ShippedConfigs, MfHistoryIsTheTunedMfWithItsModel) {
  Config history, tuned;
  ASSERT_NO_THROW(history = load_config(shipped("mf_history"), {}));
  ASSERT_NO_THROW(tuned = load_config(shipped("mf_tuned"), {"model.name=mf_history"}));
  tuned.output.dir = history.output.dir;
  EXPECT_EQ(to_yaml(history), to_yaml(tuned));
}

// The tuned configurations are their study configuration plus exactly what their sweep chose.
TEST(ShippedConfigs, TunedConfigsDifferFromTheStudyOnlyInTheSweepsChoices) {
  struct Expect {
    const char* tuned;
    const char* study;
    std::vector<std::string> choices;
  };
  for (const Expect& e : {Expect{"mf_tuned", "mf",
                                 {"model.factors=128", "model.embedding_init_std=0.01", "model.bias_init_std=0",
                                  "train.epochs=20", "train.lr=0.001", "train.weight_decay=0.01"}},
                          Expect{"seq_tuned", "seq_features", {"model.embedding_init_std=0.02"}}}) {
    SCOPED_TRACE(e.tuned);
    Config tuned, study;
    ASSERT_NO_THROW(tuned = load_config(shipped(e.tuned), {}));
    ASSERT_NO_THROW(study = load_config(shipped(e.study), e.choices));
    study.output.dir = tuned.output.dir;
    EXPECT_EQ(to_yaml(tuned), to_yaml(study));
    EXPECT_EQ(tuned.data.test_per_user, 0);  // the study's protocol, as the README's table uses
  }
  // The sweeps that found them load, over their study configurations.
  for (const char* sweep : {"mf", "seq"}) {
    SCOPED_TRACE(sweep);
    const auto spec = load_sweep(std::string(MLREC_SOURCE_DIR) + "/sweeps/" + sweep + ".yaml");
    EXPECT_EQ(spec.trials.size(), std::string(sweep) == "mf" ? 12u : 8u);
  }
}

TEST(ShippedConfigs, SmokeIsSmallAndFast) {
  Config c;
  ASSERT_NO_THROW(c = load_config(shipped("smoke"), {}));
  EXPECT_EQ(c.model.name, "mf");
  EXPECT_EQ(c.train.epochs, 2);
  EXPECT_EQ(c.train.max_steps_per_epoch, 20);
  // The overrides scripts rely on apply on top of it.
  c = load_config(shipped("smoke"), {"data.dir=/tmp/d", "output.dir=/tmp/o", "train.epochs=1",
                                     "train.batch_size=64", "train.seed=3"});
  EXPECT_EQ(c.data.dir, "/tmp/d");
  EXPECT_EQ(c.output.dir, "/tmp/o");
  EXPECT_EQ(c.train.epochs, 1);
  EXPECT_EQ(c.train.batch_size, 64);
  EXPECT_EQ(c.train.seed, 3);
}

}  // namespace
}  // namespace mlrec::config

namespace mlrec::config {
namespace {

// A huge bad value (a pasted file, say) is named by its key and shown shortened, not echoed
// in full into the log.
TEST(ConfigErrors, AHugeBadValueIsShownShortened) {
  const std::string huge(1 << 20, '7');
  for (const auto& [yaml, overrides] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"train:\n  lr: x" + huge + "\n", {}},
           {"", {"train.device=" + huge}},
           {"", {"train.epochs=" + huge}},
           {"", {huge}}}) {
    try {
      config_from_yaml_string(yaml, overrides);
      ADD_FAILURE() << "expected a ConfigError";
    } catch (const ConfigError& e) {
      const std::string message = e.what();
      EXPECT_LT(message.size(), 400u) << message.substr(0, 400);
      EXPECT_NE(message.find("characters)"), std::string::npos) << message.substr(0, 400);
    }
  }
}

}  // namespace
}  // namespace mlrec::config

namespace mlrec::config {
namespace {

TEST(LoadConfig, AFileWithNoSettingsSaysSoAndKeepsTheDefaults) {
  test_support::TempDir dir;
  test_support::write_file(dir.file("empty.yaml"), "# every line commented out\n# train:\n#   lr: 0.1\n");
  testing::internal::CaptureStdout();
  const Config config = load_config(dir.file("empty.yaml"), {});
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("empty.yaml holds no settings: every key takes its default"), std::string::npos) << out;
  EXPECT_EQ(to_yaml(config), to_yaml(default_config()));
}

}  // namespace
}  // namespace mlrec::config

// ------------------------------------------------------------------------------------------
// data.format and data.interactions.* (issue 17: your own data)

namespace mlrec::config {
namespace {

TEST(ConfigInteractions, DefaultsReadMovieLensAndNameTheUsualColumns) {
  const Config c = default_config();
  EXPECT_EQ(c.data.format, "auto");
  EXPECT_EQ(c.data.interactions.path, "");
  EXPECT_EQ(c.data.interactions.user, "user_id");
  EXPECT_EQ(c.data.interactions.item, "item_id");
  EXPECT_EQ(c.data.interactions.rating, "rating");
  EXPECT_EQ(c.data.interactions.timestamp, "timestamp");
  EXPECT_EQ(c.data.interactions.delimiter, "auto");
  EXPECT_EQ(c.data.interactions.rating_step, 0);
  for (const char* key : {"data.format", "data.interactions.path", "data.interactions.user", "data.interactions.item",
                          "data.interactions.rating", "data.interactions.timestamp", "data.interactions.delimiter",
                          "data.interactions.rating_min", "data.interactions.rating_max",
                          "data.interactions.rating_step"}) {
    ASSERT_NE(find_param(key), nullptr) << key;
    EXPECT_EQ(find_param(key)->section(), "data") << key;
  }
}

TEST(ConfigInteractions, NestedYamlDottedKeysAndOverrides) {
  const Config nested = config_from_yaml_string(R"(
data:
  format: interactions
  interactions:
    path: /data/log.tsv
    user: customer
    item: sku
    rating: stars
    timestamp: ""
    delimiter: "\t"
    rating_min: 0
    rating_max: 10
    rating_step: 0.5
)",
                                                {}, "test.yaml");
  EXPECT_EQ(nested.data.format, "interactions");
  EXPECT_EQ(nested.data.interactions.path, "/data/log.tsv");
  EXPECT_EQ(nested.data.interactions.user, "customer");
  EXPECT_EQ(nested.data.interactions.item, "sku");
  EXPECT_EQ(nested.data.interactions.rating, "stars");
  EXPECT_EQ(nested.data.interactions.timestamp, "");
  EXPECT_EQ(nested.data.interactions.delimiter, "\t");
  EXPECT_EQ(nested.data.interactions.rating_max, 10);
  EXPECT_EQ(nested.data.interactions.rating_step, 0.5);
  const Config dotted = config_from_yaml_string(
      "data:\n  format: interactions\n  interactions.path: x.csv\n  interactions.delimiter: tab\n", {}, "t.yaml");
  EXPECT_EQ(dotted.data.interactions.path, "x.csv");
  EXPECT_EQ(dotted.data.interactions.delimiter, "tab");
  const Config set = config_from_yaml_string(
      "", {"data.format=interactions", "data.interactions.path=my log.csv", "data.interactions.delimiter=;"});
  EXPECT_EQ(set.data.interactions.path, "my log.csv");
  EXPECT_EQ(set.data.interactions.delimiter, ";");
}

TEST(ConfigInteractions, EveryKeyRoundTripsThroughToYaml) {
  const Config c = config_from_yaml_string(
      "", {"data.format=interactions", "data.interactions.path=/data/a b: c.tsv", "data.interactions.user=u id",
           "data.interactions.item=\"item #\"", "data.interactions.rating=stars", "data.interactions.timestamp=",
           "data.interactions.delimiter=|", "data.interactions.rating_min=-1.5", "data.interactions.rating_max=1.5",
           "data.interactions.rating_step=0.25"});
  const std::string y = to_yaml(c);
  const Config back = config_from_yaml_string(y, {});
  EXPECT_EQ(to_yaml(back), y);
  EXPECT_EQ(back.data.interactions.path, "/data/a b: c.tsv");
  EXPECT_EQ(back.data.interactions.item, "item #");
  EXPECT_EQ(back.data.interactions.timestamp, "");
  EXPECT_EQ(back.data.interactions.delimiter, "|");
  EXPECT_EQ(back.data.interactions.rating_min, -1.5);
  EXPECT_EQ(back.data.interactions.rating_step, 0.25);
  // A tab survives the round trip too.
  Config tab = c;
  tab.data.interactions.delimiter = "\t";
  EXPECT_EQ(config_from_yaml_string(to_yaml(tab), {}).data.interactions.delimiter, "\t");
}

TEST(ConfigInteractions, ErrorsNameTheKey) {
  expect_config_error("", {"data.format=interactions"}, {"'data.interactions.path'", "must name the interactions file"});
  expect_config_error("", {"data.interactions.path=x.csv"}, {"'data.format'", "set data.format=interactions"});
  expect_config_error("", {"data.format=movielens"}, {"'data.format'", "auto, interactions"});
  const Overrides file = {"data.format=interactions", "data.interactions.path=x.csv"};
  auto with = [&](std::vector<std::string> more) {
    Overrides all = file;
    all.insert(all.end(), more.begin(), more.end());
    return all;
  };
  expect_config_error("", with({"data.interactions.delimiter=:"}), {"'data.interactions.delimiter'", "':'"});
  expect_config_error("", with({"data.interactions.user="}), {"'data.interactions.user'", "must not be empty"});
  expect_config_error("", with({"data.interactions.item=user_id"}),
                      {"'data.interactions.item'", "same column as data.interactions.user"});
  expect_config_error("", with({"data.interactions.rating_max=5"}),
                      {"'data.interactions.rating_max'", "rating_step is 0", "declare rating_min, rating_max and rating_step together"});
  expect_config_error("", with({"data.interactions.rating_min=1", "data.interactions.rating_step=1"}),
                      {"'data.interactions.rating_max'", "must be > data.interactions.rating_min"});
  expect_config_error("", with({"data.interactions.rating_min=1", "data.interactions.rating_max=5", "data.interactions.rating_step=0.3"}),
                      {"'data.interactions.rating_step'", "whole number of steps"});
  expect_config_error("", with({"data.interactions.rating_step=-1"}), {"'data.interactions.rating_step'", ">= 0"});
  expect_config_error("data:\n  interactions:\n    pth: x.csv\n", {},
                      {"'data.interactions.pth'", "did you mean 'data.interactions.path'"});
  // A whole declared scale, min 0 included, is fine.
  EXPECT_NO_THROW(from_yaml("", with({"data.interactions.rating_max=10", "data.interactions.rating_step=1"})));
}

}  // namespace
}  // namespace mlrec::config
