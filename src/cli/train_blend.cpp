#include "train_blend.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "mlrec/common/error.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/strings.h"
#include "mlrec/models/registry.h"
#include "mlrec/serve/serve.h"
#include "mlrec/train/run.h"
#include "mlrec/train/seeds.h"

namespace mlrec::cli {

namespace fs = std::filesystem;

namespace {
// Copy k of a member trains with seed + k * kCopySeedStride: no two copies, of any of a command's
// seeds (below a million), share a seed.
constexpr int64_t kCopySeedStride = 1000000;
}  // namespace

std::vector<config::Config> blend_members(const config::Config& blend, const std::vector<std::string>& overrides,
                                          const std::string& dir, int64_t seed) {
  std::vector<std::string> member_overrides;
  for (const std::string& o : overrides) {
    if (o.rfind("blend.", 0) != 0) member_overrides.push_back(o);
  }
  std::vector<config::Config> members;
  std::set<std::string> names;
  std::stringstream list(blend.blend.members);
  for (std::string file; std::getline(list, file, ',');) {
    file = trim(file);
    if (file.empty()) continue;
    if (!fs::is_regular_file(file)) {
      throw ConfigError::for_key("blend.members", "'" + file + "' is not a configuration file");
    }
    const std::string name = fs::path(file).stem().string();
    config::Config member = config::load_config(file, member_overrides);
    if (!member.blend.members.empty()) {
      throw ConfigError::for_key("blend.members", "'" + file + "' is itself a blend");
    }
    member.data = blend.data;
    const int copies = models::fitted_without_gradients(member.model.name) ? 1 : blend.blend.member_seeds;
    for (int k = 0; k < copies; ++k) {
      const std::string copy_name = k == 0 ? name : name + "-" + std::to_string(k);
      if (!names.insert(copy_name).second) {
        throw ConfigError::for_key("blend.members", "two members are named '" + copy_name +
                                                        "' (each trains into output.dir/<file name>)");
      }
      config::Config copy = member;
      copy.train.seed = seed + int64_t{k} * kCopySeedStride;
      copy.output.dir = (fs::path(dir) / copy_name).string();
      members.push_back(std::move(copy));
    }
  }
  if (members.size() < 2) throw ConfigError::for_key("blend.members", "a blend needs at least two members");
  return members;
}

namespace {

// One blend: its members trained with `seed`, then blended (rank 0) into dir/blend.json.
train::SeedResult train_and_blend(const config::Config& config, const std::vector<std::string>& overrides,
                                  dist::ProcessGroup& group, int64_t seed, const std::string& dir) {
  std::vector<config::Config> members = blend_members(config, overrides, dir, seed);
  serve::BlendOptions options;
  options.device = config.train.device;
  options.threads = config.train.threads;
  options.out = (fs::path(dir) / "blend.json").string();
  for (const config::Config& member : members) {
    log_rank0("blend member " + member.output.dir + " (" + member.model.name + ", seed " +
              std::to_string(member.train.seed) + ")");
    train::run_training(member, group);
    options.runs.push_back(member.output.dir);
  }
  train::SeedResult result;
  result.seed = seed;
  if (group.rank != 0) return result;
  const serve::BlendReport report = serve::blend(options);
  log_info("blend of " + std::to_string(members.size()) + " members:\n" + serve::blend_table(report));
  result.valid.mae = report.valid.mae;
  result.valid.rmse = report.valid.rmse;
  result.valid.mse = report.valid.rmse * report.valid.rmse;
  result.valid.count = report.valid_count;
  result.test.mae = report.test.mae;
  result.test.rmse = report.test.rmse;
  result.test.mse = report.test.rmse * report.test.rmse;
  result.test.count = report.test_count;
  return result;
}

}  // namespace

void train_blend(const config::Config& config, const std::vector<std::string>& overrides, dist::ProcessGroup& group,
                 const std::vector<int64_t>& seeds) {
  // Every member file is checked before anything trains.
  blend_members(config, overrides, config.output.dir, config.train.seed);
  if (seeds.empty()) {
    train_and_blend(config, overrides, group, config.train.seed, config.output.dir);
    return;
  }
  std::vector<train::SeedResult> results;
  for (const int64_t seed : seeds) {
    const std::string dir = (fs::path(config.output.dir) / ("seed-" + std::to_string(seed))).string();
    results.push_back(train_and_blend(config, overrides, group, seed, dir));
  }
  if (group.rank == 0) train::summarize_seeds(config.output.dir, "blend", results, /*write=*/true);
}

}  // namespace mlrec::cli
