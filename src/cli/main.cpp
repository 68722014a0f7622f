// mlrec_dist: the command-line entry point. It parses the command, runs it, and turns every
// failure into one error line and an exit status: 2 for bad input or configuration (the user's
// to fix), 1 for anything else.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "mlrec/bench/bench.h"
#include "mlrec/common/denormals.h"
#include "mlrec/common/error.h"
#include "mlrec/common/host_memory.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/stop_signal.h"
#include "mlrec/common/strings.h"
#include "mlrec/common/version.h"
#include "mlrec/config/config.h"
#include "mlrec/data/movielens.h"
#include "mlrec/data/synthetic.h"
#include "mlrec/distributed/process_group.h"
#include "mlrec/config/sweep.h"
#include "mlrec/common/file_io.h"
#include "mlrec/report/compare.h"
#include "mlrec/report/html_report.h"
#include "mlrec/report/learning_curves.h"
#include "mlrec/report/raster.h"
#include "mlrec/report/sweep_report.h"
#include "mlrec/serve/serve.h"
#include "mlrec/train/run.h"
#include "mlrec/train/seeds.h"
#include "train_blend.h"
#include "mlrec/train/sweep.h"

namespace po = boost::program_options;

namespace {

// Set once the process group is up: how to end the job when this rank fails.
int g_world_size = 1;
int g_rank = 0;

// MPI comes up before anything else of a command that trains, so that every later failure,
// bad input included, ends the whole job. The timeout is the configuration's once it is read.
mlrec::dist::ProcessGroup start_process_group() {
  mlrec::dist::ProcessGroup group = mlrec::dist::init_process_group(/*timeout_seconds=*/300);
  mlrec::set_log_rank(group.rank, group.world_size);
  g_world_size = group.world_size;
  g_rank = group.rank;
  // After MPI's initialisation, so that these handlers are the ones in place.
  mlrec::install_stop_signal_handlers();
  return group;
}

// Runs a command that trains. A stop signal ends it on every rank alike once its checkpoint is
// written (train/checkpointing.h): MPI is shut down cleanly and the exit status is 128 + the
// signal's number.
template <class Command>
int run_stoppable(mlrec::dist::ProcessGroup& group, Command command) {
  try {
    command();
  } catch (const mlrec::StopRequested& stop) {
    mlrec::log_rank0("stopped by " + mlrec::signal_name(stop.signal()) +
                     (stop.checkpoint().empty()
                          ? std::string(" (checkpoint.keep is 0: no checkpoint). The same command starts the run "
                                        "again")
                          : "; checkpoint: " + stop.checkpoint() +
                                ". The same command continues the run (checkpoint.resume=auto)"));
    mlrec::dist::finalize_process_group(group);
    return mlrec::stopped_exit_code(stop.signal());
  }
  mlrec::dist::finalize_process_group(group);
  return 0;
}

// `mlrec_dist COMMAND --help` (train has its own, with the configuration keys): the
// command's options are printed and the command does nothing (dispatch returns 0).
struct HelpShown {};

// A subcommand's arguments parsed into `options`' variables (and returned for flags).
po::variables_map parse(const std::vector<std::string>& args, const po::options_description& options,
                        const po::positional_options_description& positional = {}) {
  if (options.find_nothrow("help", false) == nullptr &&
      std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; })) {
    std::cout << options << "(every command: mlrec_dist --help)\n";
    throw HelpShown{};
  }
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
  po::notify(vm);
  return vm;
}

constexpr const char* kUsage = R"(mlrec_dist: rating-prediction training on MovieLens or your own interactions (LibTorch)

usage:
  mlrec_dist [train] --config FILE [--set key=value ...] [--seeds 42,1,2]
                                                           train one model (see --help-config); with
                                                           --seeds, once per seed, with mean and std;
                                                           a blend's file (blend.members: configs/
                                                           best.yaml) trains its members, then blends
  mlrec_dist sweep --sweep FILE [--set key=value ...] [--retry-failed] [--trial N ...] [--report] [--count]
                                                           a grid or random search; under mpirun the
                                                           trials are spread over the ranks; run again,
                                                           it keeps finished (and failed) trials
  mlrec_dist bench --config FILE [--config FILE ...] [--set key=value ...] [--out FILE.json] [--window N]
                                                           benchmark: throughput, time to target MAE, memory
  mlrec_dist stats --data-dir DIR                          print statistics of a MovieLens release
  mlrec_dist compare RUN_DIR ... [--html FILE.html]        Markdown table of finished runs; --html also
                                                           writes one self-contained page with the table
                                                           and the learning curves
  mlrec_dist plot RUN_DIR ... --out FILE.svg|FILE.png [--log-loss]
                                                           validation MAE and training loss per epoch
                                                           (a --seeds directory: mean and spread)
  mlrec_dist predict --run DIR --input PAIRS.csv --out FILE.csv
                                                           a rating for each (user, item[, timestamp]) row
  mlrec_dist recommend --run DIR [--user ID ... | --users FILE] [--k 10] [--out FILE.csv|.jsonl]
                                                           the top-k unrated items of users (all by default)
  mlrec_dist export --run DIR --out DIR2                   weights (safetensors), id maps, model description
  mlrec_dist blend RUN_DIR RUN_DIR ... [--out blend.json]  a linear blend of runs, fitted on validation,
                                                           reported on test (data.test_per_user > 0)
  mlrec_dist synth --out DIR [--format F] [--users N] [--movies N] [--ratings N] [--seed S]
                                                           write a synthetic MovieLens-format release
  mlrec_dist --help | --help-config | --version

exit status: 0 success (also: the run had already finished), 2 bad input or configuration,
  1 any other failure (a non-finite loss included), 128 + N stopped by signal N after writing a
  checkpoint (143 SIGTERM, 130 SIGINT, 138 SIGUSR1): the same command continues the run
)";

// --seeds 42,1,2: distinct whole numbers. A seed given twice would train the same run twice
// (the second finds it finished) and shrink the reported spread toward zero.
std::vector<int64_t> parse_seeds(const std::string& text) {
  std::vector<int64_t> seeds;
  size_t begin = 0;
  for (;;) {
    const size_t end = text.find(',', begin);
    const std::string item = mlrec::trim(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (item.empty()) throw mlrec::ConfigError("--seeds '" + text + "': an empty seed (write them as 42,1,2)");
    int64_t seed = -1;
    try {
      size_t used = 0;
      seed = std::stoll(item, &used);
      if (used != item.size() || seed < 0) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw mlrec::ConfigError("--seeds: '" + item + "' is not a seed (a whole number >= 0)");
    }
    if (std::find(seeds.begin(), seeds.end(), seed) != seeds.end()) {
      throw mlrec::ConfigError("--seeds: seed " + item + " is given twice (each seed is one run of the spread)");
    }
    seeds.push_back(seed);
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return seeds;
}

int run_train(const std::vector<std::string>& args) {
  po::options_description options("train options");
  std::string config_path;
  std::vector<std::string> overrides;
  options.add_options()
      ("config,c", po::value<std::string>(&config_path), "YAML configuration file (configs/*.yaml)")
      ("set,s", po::value<std::vector<std::string>>(&overrides)->composing(),
       "override one key: --set train.epochs=3 (repeatable, applied in order)")
      ("seeds", po::value<std::string>(), "comma-separated seeds: one run per seed in output.dir/seed-N, "
       "then mean and std of every metric (output.dir/seeds.json)")
      ("help,h", "this help");
  const po::variables_map vm = parse(args, options);
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << options << "\nconfiguration keys:\n" << mlrec::config::help_text();
    return 0;
  }
  if (config_path.empty()) throw mlrec::ConfigError("no configuration: pass --config FILE (e.g. configs/mf.yaml)");
  mlrec::dist::ProcessGroup group = start_process_group();
  const mlrec::config::Config config = mlrec::config::load_config(config_path, overrides);
  mlrec::dist::set_collective_timeout(*group.comm, config.dist.timeout_seconds);
  if (vm.count("seeds")) {
    const std::vector<int64_t> seeds = parse_seeds(vm["seeds"].as<std::string>());
    if (!config.blend.members.empty()) {
      return run_stoppable(group, [&] { mlrec::cli::train_blend(config, overrides, group, seeds); });
    }
    return run_stoppable(group, [&] { mlrec::train::run_seeds(config, group, seeds); });
  }
  if (!config.blend.members.empty()) {
    return run_stoppable(group, [&] { mlrec::cli::train_blend(config, overrides, group, {}); });
  }
  return run_stoppable(group, [&] { mlrec::train::run_training(config, group); });
}

int run_sweep(const std::vector<std::string>& args) {
  po::options_description options("sweep options");
  std::string sweep_path;
  std::vector<std::string> overrides;
  std::vector<int64_t> trials_given;  // signed: Boost would read --trial=-1 as 2^64 - 1
  options.add_options()
      ("sweep", po::value<std::string>(&sweep_path)->required(), "sweep file (see sweeps/*.yaml)")
      ("set,s", po::value<std::vector<std::string>>(&overrides)->composing(), "override for every trial")
      ("retry-failed", "run again the trials that failed in an earlier run of this sweep (by default "
       "finished and failed trials are kept, and the sweep continues with the rest)")
      ("trial", po::value<std::vector<int64_t>>(&trials_given)->composing(),
       "run only this trial (repeatable; 0-based, as trial-NNN): one trial per Slurm array task")
      ("report", "write the ranked results of the trials finished so far, and train nothing")
      ("count", "print the number of trials, and train nothing");
  const po::variables_map given = parse(args, options);
  const bool retry_failed = given.count("retry-failed") > 0;
  const mlrec::config::SweepSpec spec = mlrec::config::load_sweep(sweep_path);
  if (given.count("count")) {
    std::cout << spec.trials.size() << "\n";
    return 0;
  }
  std::vector<size_t> only;
  for (const int64_t trial : trials_given) {
    if (trial < 0) throw mlrec::ConfigError(fmt::format("--trial {}: trials are numbered from 0", trial));
    only.push_back(static_cast<size_t>(trial));
  }
  for (size_t k = 0; k < only.size(); ++k) {
    const size_t i = only[k];
    // Twice would train it on two ranks at once, into one folder.
    if (std::find(only.begin(), only.begin() + static_cast<std::ptrdiff_t>(k), i) != only.begin() + static_cast<std::ptrdiff_t>(k)) {
      throw mlrec::ConfigError(fmt::format("--trial {} is given twice", i));
    }
    if (i >= spec.trials.size()) {
      throw mlrec::ConfigError(fmt::format("--trial {}: {} has {} trials (0 to {})", i, sweep_path,
                                           spec.trials.size(), spec.trials.size() - 1));
    }
  }
  if (given.count("report")) {
    std::cout << mlrec::report::write_sweep_report(spec, overrides) << std::flush;
    return 0;
  }
  mlrec::dist::ProcessGroup group = start_process_group();
  return run_stoppable(group, [&] {
    mlrec::train::run_sweep_trials(spec, overrides, group, retry_failed, only);
    if (group.rank == 0) {
      std::cout << mlrec::report::write_sweep_report(spec, overrides) << std::flush;
      const std::filesystem::path out = spec.output;
      mlrec::log_info("sweep results: " + (out / "results.md").string() + ", best configuration: " +
                      (out / "best.yaml").string());
    }
  });
}

int run_bench(const std::vector<std::string>& args) {
  po::options_description options("bench options");
  mlrec::bench::BenchOptions bench;
  options.add_options()
      ("config,c", po::value<std::vector<std::string>>(&bench.configs)->composing()->required(),
       "configuration to benchmark (repeatable: run in order)")
      ("set,s", po::value<std::vector<std::string>>(&bench.overrides)->composing(),
       "override applied to every configuration (repeatable)")
      ("out,o", po::value<std::string>(&bench.out), "write the results as JSON here")
      ("window,w", po::value<int>(&bench.window), "steps per timing window (default 20)");
  parse(args, options);
  if (bench.window < 1) throw mlrec::ConfigError("--window must be at least 1");
  mlrec::dist::ProcessGroup group = start_process_group();
  mlrec::bench::run_bench(bench, group);
  mlrec::dist::finalize_process_group(group);
  return 0;
}

int run_stats(const std::vector<std::string>& args) {
  po::options_description options("stats options");
  std::string dir;
  options.add_options()("data-dir,d", po::value<std::string>(&dir)->required(), "MovieLens folder");
  po::positional_options_description positional;
  positional.add("data-dir", 1);
  parse(args, options, positional);
  const auto raw = mlrec::data::load_movielens(dir);
  std::cout << mlrec::data::format_stats(raw, mlrec::data::compute_stats(raw)) << "\n";
  return 0;
}

// A path's extension, lower-cased: what to write.
std::string extension_of(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string written_by() {
  const std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return "Written by mlrec_dist " + mlrec::program_version() + " on " + when + ".";
}

int run_compare(const std::vector<std::string>& args) {
  po::options_description options("compare options");
  std::vector<std::string> dirs;
  std::string html;
  options.add_options()
      ("run", po::value<std::vector<std::string>>(&dirs), "a finished run directory (positional, repeatable)")
      ("html", po::value<std::string>(&html), "also write the table and the learning curves as one HTML page");
  po::positional_options_description positional;
  positional.add("run", -1);
  parse(args, options, positional);
  if (dirs.empty()) throw mlrec::ConfigError("compare needs at least one run directory");
  if (!html.empty() && extension_of(html) != ".html" && extension_of(html) != ".htm") {
    throw mlrec::ConfigError("--html " + html + ": the report is HTML, name it FILE.html");
  }
  if (!html.empty()) mlrec::check_writable(html);
  std::vector<mlrec::report::RunRow> rows;
  for (const auto& dir : dirs) rows.push_back(mlrec::report::read_run(dir));
  std::cout << mlrec::report::comparison_table(rows);
  if (!html.empty()) {
    const auto curves = mlrec::report::read_learning_curves(dirs);
    mlrec::write_file_atomic(html, mlrec::report::comparison_html(rows, curves, written_by()));
    std::cerr << "wrote " << html << "\n";  // stdout stays the table
  }
  return 0;
}

int run_plot(const std::vector<std::string>& args) {
  po::options_description options("plot options");
  std::vector<std::string> dirs;
  std::string out;
  double scale = 2;
  options.add_options()
      ("run", po::value<std::vector<std::string>>(&dirs), "a run or --seeds directory (positional, repeatable)")
      ("out,o", po::value<std::string>(&out)->required(), "FILE.svg or FILE.png")
      ("scale", po::value<double>(&scale), "PNG pixels per SVG pixel (default 2: 2000 pixels wide)")
      ("log-loss", "the training loss on a log scale");
  po::positional_options_description positional;
  positional.add("run", -1);
  const po::variables_map vm = parse(args, options, positional);
  mlrec::report::PlotOptions plot;
  plot.log_loss = vm.count("log-loss") > 0;
  if (dirs.empty()) throw mlrec::ConfigError("plot needs at least one run directory");
  const std::string ext = extension_of(out);
  if (ext != ".svg" && ext != ".png") throw mlrec::ConfigError("--out " + out + ": write FILE.svg or FILE.png");
  if (!(scale > 0 && scale <= 8)) throw mlrec::ConfigError("--scale must be in (0, 8]");
  if (ext == ".png" && !mlrec::report::png_supported()) {
    throw mlrec::ConfigError("--out " + out + ": this mlrec_dist was built without PNG support (librsvg; Debian: "
                             "librsvg2-dev, then build again): write FILE.svg");
  }
  mlrec::check_writable(out);
  const std::string svg = mlrec::report::learning_curves_svg(mlrec::report::read_learning_curves(dirs), true, plot);
  mlrec::write_file_atomic(out, ext == ".svg" ? svg : mlrec::report::svg_to_png(svg, scale));
  std::cout << "wrote " << out << "\n";
  return 0;
}

int run_synth(const std::vector<std::string>& args) {
  po::options_description options("synth options");
  std::string out, format = "ml-1m";
  mlrec::data::SyntheticOptions synthetic;
  int64_t seed = static_cast<int64_t>(synthetic.seed);
  options.add_options()
      ("out,o", po::value<std::string>(&out)->required(), "folder to write")
      ("format,f", po::value<std::string>(&format), "ml-1m | ml-100k | csv (default ml-1m)")
      ("users", po::value<int>(&synthetic.users), "number of users")
      ("movies", po::value<int>(&synthetic.movies), "number of movies")
      ("ratings", po::value<int64_t>(&synthetic.ratings),
       "total ratings, shaped like MovieLens (heavy-tailed per user, popular movies); default: 20-60 per user")
      ("seed", po::value<int64_t>(&seed), "random seed (>= 0)");
  const po::variables_map given = parse(args, options);
  // Signed, then checked: Boost reads -1 into an unsigned as 2^64 - 1.
  if (seed < 0) throw mlrec::ConfigError("--seed must be >= 0, got " + std::to_string(seed));
  synthetic.seed = static_cast<uint64_t>(seed);
  if (given.count("ratings") && synthetic.ratings < 1) {
    // (the library's 0 means "20 to 60 per user"; typed, it is a mistake)
    throw mlrec::ConfigError("--ratings must be >= 1, got " + std::to_string(synthetic.ratings) +
                             " (leave it out for 20 to 60 ratings per user)");
  }
  mlrec::data::Release release;
  if (format == "ml-1m") release = mlrec::data::Release::kMovieLens1M;
  else if (format == "ml-100k") release = mlrec::data::Release::kMovieLens100K;
  else if (format == "csv") release = mlrec::data::Release::kMovieLensCsv;
  else throw mlrec::ConfigError("--format must be ml-1m, ml-100k or csv, not '" + format + "'");
  mlrec::data::write_synthetic_movielens(out, release, synthetic);
  std::cout << "wrote a synthetic " << format << " release to " << out << "\n";
  return 0;
}

// The options every command on a trained run takes.
void add_run_options(po::options_description& options, mlrec::serve::RunOptions& run) {
  options.add_options()
      ("run,r", po::value<std::string>(&run.run)->required(), "a finished run directory (output.dir)")
      ("set,s", po::value<std::vector<std::string>>(&run.overrides)->composing(),
       "override a key of the run's configuration, e.g. --set data.dir=/data/ml-1m where its data now is")
      ("device", po::value<std::string>(&run.device), "auto (default) | cpu | cuda")
      ("threads", po::value<int>(&run.threads), "torch threads on the CPU (default: all cores)");
}

// --device and --threads, checked as train.device and train.threads are (an unknown device
// acted as auto: on a GPU machine a typo would silently pick the other device).
void check_device_and_threads(const std::string& device, int threads) {
  if (device != "auto" && device != "cpu" && device != "cuda") {
    throw mlrec::ConfigError("--device must be auto, cpu or cuda, not '" + device + "'");
  }
  if (threads < 0 || threads > 1024) {
    throw mlrec::ConfigError("--threads must be between 0 (all cores) and 1024, got " + std::to_string(threads));
  }
}

int run_predict(const std::vector<std::string>& args) {
  po::options_description options("predict options");
  mlrec::serve::PredictOptions predict;
  add_run_options(options, predict);
  options.add_options()
      ("input,i", po::value<std::string>(&predict.input)->required(), "CSV or TSV with a header: user, item[, timestamp]")
      ("out,o", po::value<std::string>(&predict.out)->required(), "CSV to write: the input's columns, prediction, known")
      ("user-column", po::value<std::string>(&predict.user_column), "the input's user column (default: found by name)")
      ("item-column", po::value<std::string>(&predict.item_column), "the input's item column (default: found by name)")
      ("timestamp-column", po::value<std::string>(&predict.timestamp_column),
       "the input's timestamp column (default: 'timestamp' or the run's, when present)");
  parse(args, options);
  check_device_and_threads(predict.device, predict.threads);
  mlrec::serve::predict(predict);
  return 0;
}

int run_recommend(const std::vector<std::string>& args) {
  po::options_description options("recommend options");
  mlrec::serve::RecommendOptions recommend;
  add_run_options(options, recommend);
  options.add_options()
      ("user,u", po::value<std::vector<std::string>>(&recommend.users)->composing(), "a user id of the data (repeatable)")
      ("users", po::value<std::string>(&recommend.users_file), "a file of user ids, one per line")
      ("k,k", po::value<int>(&recommend.k), "items per user (default 10)")
      ("out,o", po::value<std::string>(&recommend.out), "write here (default: stdout)")
      ("format,f", po::value<std::string>(&recommend.format), "csv | jsonl | auto (default: from --out's extension)")
      ("include-seen", "also recommend items the user has rated");
  const po::variables_map vm = parse(args, options);
  recommend.include_seen = vm.count("include-seen") > 0;
  check_device_and_threads(recommend.device, recommend.threads);
  mlrec::serve::recommend(recommend);
  return 0;
}

int run_export(const std::vector<std::string>& args) {
  po::options_description options("export options");
  mlrec::serve::ExportOptions exported;
  options.add_options()
      ("run,r", po::value<std::string>(&exported.run)->required(), "a finished run directory")
      ("out,o", po::value<std::string>(&exported.out)->required(), "the folder to write")
      ("overwrite", "replace the files of an earlier export in --out");
  const po::variables_map vm = parse(args, options);
  exported.overwrite = vm.count("overwrite") > 0;
  mlrec::serve::export_model(exported);
  return 0;
}

int run_blend(const std::vector<std::string>& args) {
  po::options_description options("blend options");
  mlrec::serve::BlendOptions blend;
  options.add_options()
      ("runs", po::value<std::vector<std::string>>(&blend.runs)->composing(), "finished run directories")
      ("set,s", po::value<std::vector<std::string>>(&blend.overrides)->composing(),
       "override a key of every run's configuration, e.g. --set data.dir=/data/ml-1m")
      ("device", po::value<std::string>(&blend.device), "auto (default) | cpu | cuda")
      ("threads", po::value<int>(&blend.threads), "torch threads on the CPU (default: all cores)")
      ("out,o", po::value<std::string>(&blend.out), "write blend.json here");
  po::positional_options_description positional;
  positional.add("runs", -1);
  parse(args, options, positional);
  check_device_and_threads(blend.device, blend.threads);
  std::cout << mlrec::serve::blend_table(mlrec::serve::blend(blend));
  return 0;
}

int run_command(const std::string& command, const std::vector<std::string>& args);

int dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? mlrec::kInputErrorExitCode : 0;
  }
  if (args[0] == "--version") {
    // Which build this is: a CPU-only build (no CUDA toolkit where it was built) refuses
    // train.device=cuda, so users and support need to see it at once.
    std::cout << "mlrec_dist " << mlrec::program_version() << ", LibTorch " << TORCH_VERSION
              << (MLREC_WITH_CUDA ? ", CUDA build" : ", CPU-only build (no CUDA)") << "\n";
    return 0;
  }
  if (args[0] == "--help-config") {
    std::cout << mlrec::config::help_text();
    return 0;
  }
  const std::vector<std::string> commands = {"train",   "sweep",     "bench",  "stats", "compare", "plot",
                                              "synth",   "predict",   "recommend", "export", "blend"};
  std::string command = "train";  // also without a command: mlrec_dist --config FILE
  if (std::find(commands.begin(), commands.end(), args[0]) != commands.end()) {
    command = args[0];
    args.erase(args.begin());
  } else if (!args[0].empty() && args[0][0] != '-') {
    // Training takes no positional argument: a word here is a mistyped command (or a config
    // file without --config), and Boost's "too many positional options" would not say so.
    std::string list;
    for (const auto& name : commands) list += (list.empty() ? "" : ", ") + name;
    throw mlrec::ConfigError("unknown command '" + args[0] + "' (commands: " + list +
                             "; a configuration is given with --config FILE; see mlrec_dist --help)");
  }
  try {
    return run_command(command, args);
  } catch (const HelpShown&) {
    return 0;
  }
}

int run_command(const std::string& command, const std::vector<std::string>& args) {
  if (command == "predict") return run_predict(args);
  if (command == "recommend") return run_recommend(args);
  if (command == "export") return run_export(args);
  if (command == "blend") return run_blend(args);
  if (command == "bench") return run_bench(args);
  if (command == "sweep") return run_sweep(args);
  if (command == "stats") return run_stats(args);
  if (command == "compare") return run_compare(args);
  if (command == "plot") return run_plot(args);
  if (command == "synth") return run_synth(args);
  return run_train(args);
}

// One error line with the rank, then the whole job ends with `code`: under MPI through
// MPI_Abort, so no other rank is left waiting in a collective.
[[noreturn]] void fail(const std::string& message, int code, bool same_on_every_rank) {
  if (same_on_every_rank && g_world_size > 1 && g_rank != 0) {
    // Bad input fails every rank alike: give rank 0 a moment to report it and end the job,
    // so the user reads the error once rather than once per rank.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  mlrec::log_error(message);
  mlrec::dist::abort_job(code);
}

}  // namespace

int main(int argc, char** argv) {
  // Before the first large allocation and before torch starts any thread: training steps then
  // reuse freed host memory instead of faulting it in again every step (host_memory.h), and
  // every thread flushes denormal floats instead of running them ~100x slower (denormals.h).
  mlrec::keep_freed_memory_in_process();
  mlrec::flush_denormals_to_zero();
  try {
    return dispatch(argc, argv);
  } catch (const mlrec::InputError& e) {
    fail(e.what(), mlrec::kInputErrorExitCode, true);
  } catch (const mlrec::ConfigError& e) {
    fail(e.what(), mlrec::kInputErrorExitCode, true);
  } catch (const po::error& e) {
    fail(std::string(e.what()) + " (see mlrec_dist --help)", mlrec::kInputErrorExitCode, true);
  } catch (const c10::Error& e) {
    fail(e.what_without_backtrace(), 1, false);
  } catch (const std::exception& e) {
    fail(mlrec::error_text(e), 1, false);
  }
}
