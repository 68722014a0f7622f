#include "mlrec/train/run_record.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"

namespace mlrec::train {
namespace {

// Insertion-ordered, so that the files list their fields in the documented order.
using Json = nlohmann::ordered_json;

// An optional field: its value, or `fallback` when absent (or null, for numbers).
template <class T>
T optional_field(const Json& j, const char* key, T fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->template get<T>();
}

}  // namespace

void to_json(Json& json, const Metrics& m) {
  json = Json{{"mae", m.mae}, {"mse", m.mse}, {"rmse", m.rmse}, {"count", m.count}};
  if (m.has_ranking()) {
    json["k"] = m.ranking_k;
    json["hr"] = m.hr;
    json["ndcg"] = m.ndcg;
  }
}

double number_or_nan(const Json& j) { return j.is_null() ? NAN : j.get<double>(); }

void from_json(const Json& j, Metrics& m) {
  m.mae = number_or_nan(j.at("mae"));
  m.mse = number_or_nan(j.at("mse"));
  m.rmse = number_or_nan(j.at("rmse"));
  m.count = j.at("count").get<int64_t>();
  if (j.contains("k")) {
    m.ranking_k = j.at("k").get<int>();
    m.hr = number_or_nan(j.at("hr"));
    m.ndcg = number_or_nan(j.at("ndcg"));
  }
}

std::string to_json_line(const EpochRecord& r) {
  Json j;
  j["epoch"] = r.epoch;
  j["train_loss"] = r.train_loss;
  j["mae"] = r.valid.mae;
  j["mse"] = r.valid.mse;
  j["rmse"] = r.valid.rmse;
  j["count"] = r.valid.count;
  if (r.valid.has_ranking()) {
    j["k"] = r.valid.ranking_k;
    j["hr"] = r.valid.hr;
    j["ndcg"] = r.valid.ndcg;
  }
  j["lr"] = r.lr;
  j["seconds"] = r.seconds;
  j["eval_seconds"] = r.eval_seconds;
  j["samples_per_second"] = r.samples_per_second;
  j["comm_wait_seconds"] = r.comm_wait_seconds;
  return j.dump();
}

EpochRecord epoch_record_from_json(const std::string& line, const std::string& source) {
  EpochRecord r;
  try {
    const Json j = Json::parse(line);
    r.epoch = j.at("epoch").get<int>();
    r.valid = j.get<Metrics>();  // flat: mae, mse, rmse, count (and k, hr, ndcg)
    r.train_loss = optional_field(j, "train_loss", static_cast<double>(NAN));
    r.lr = optional_field(j, "lr", 0.0);
    r.seconds = optional_field(j, "seconds", 0.0);
    r.eval_seconds = optional_field(j, "eval_seconds", 0.0);
    r.samples_per_second = optional_field(j, "samples_per_second", 0.0);
    r.comm_wait_seconds = optional_field(j, "comm_wait_seconds", 0.0);
  } catch (const nlohmann::json::exception& e) {
    throw InputError::in(source, std::string("not an epoch record: ") + e.what());
  }
  return r;
}

std::vector<EpochRecord> read_epoch_records(const std::string& path) {
  const std::string text = read_file(path, "metrics file");
  std::vector<EpochRecord> records;
  size_t start = 0;
  for (int line_number = 1; start < text.size(); ++line_number) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      records.push_back(epoch_record_from_json(line, path + ":" + std::to_string(line_number)));
    }
    start = end + 1;
  }
  return records;
}

std::string to_json(const RunSummary& s) {
  Json j;
  j["model"] = s.model;
  j["release"] = s.release;
  j["best_epoch"] = s.best_epoch;
  j["epochs_run"] = s.epochs_run;
  j["max_epochs"] = s.max_epochs;
  j["protocol"] = s.protocol;
  j["valid"] = s.valid;
  j["train_count"] = s.train_count;
  j["test_count"] = s.test_count;
  j["data_seconds"] = s.data_seconds;
  j["data_rss_bytes"] = s.data_rss_bytes;
  j["data_pss_bytes_all_ranks"] = s.data_pss_bytes_all_ranks;
  j["data_windows"] = s.data_windows;
  j["data_cache"] = s.data_cache;
  j["train_seconds"] = s.train_seconds;
  j["train_samples"] = s.train_samples;
  j["samples_per_second"] = s.samples_per_second;
  j["comm_wait_seconds"] = s.comm_wait_seconds;
  j["comm_wait_share"] = s.comm_wait_share;
  j["grad_bytes_per_step"] = s.grad_bytes_per_step;
  j["embedding_optimizer"] = s.embedding_optimizer;
  j["steps_per_epoch"] = s.steps_per_epoch;
  j["batch_size"] = s.batch_size;
  j["seed"] = s.seed;
  j["precision"] = s.precision;
  j["cuda_graph"] = s.cuda_graph;
  j["parameters"] = s.parameters;
  j["world_size"] = s.world_size;
  j["backend"] = s.backend;
  j["device"] = s.device;
  j["torch"] = s.torch;
  j["data"] = s.data;
  j["rating_scale"] = Json{{"min", s.rating_min}, {"max", s.rating_max}, {"step", s.rating_step}};
  if (!s.weights_crc32.empty()) j["weights_crc32"] = s.weights_crc32;
  if (s.test) j["test"] = *s.test;
  return j.dump() + "\n";
}

RunSummary run_summary_from_json(const std::string& text, const std::string& source) {
  RunSummary s;
  try {
    const Json j = Json::parse(text);
    s.model = j.at("model").get<std::string>();
    s.valid = j.at("valid").get<Metrics>();
    s.best_epoch = j.at("best_epoch").get<int>();
    s.epochs_run = j.at("epochs_run").get<int>();
    s.release = optional_field<std::string>(j, "release", "");
    s.data = optional_field<std::string>(j, "data", "");
    if (j.contains("rating_scale")) {
      const Json& scale = j.at("rating_scale");
      s.rating_min = number_or_nan(scale.at("min"));
      s.rating_max = number_or_nan(scale.at("max"));
      s.rating_step = number_or_nan(scale.at("step"));
    }
    s.max_epochs = optional_field(j, "max_epochs", 0);
    s.protocol = optional_field<std::string>(j, "protocol", "study");
    if (j.contains("test")) s.test = j.at("test").get<Metrics>();
    s.train_count = optional_field<int64_t>(j, "train_count", 0);
    s.test_count = optional_field<int64_t>(j, "test_count", 0);
    s.data_seconds = optional_field(j, "data_seconds", 0.0);
    s.data_rss_bytes = optional_field<int64_t>(j, "data_rss_bytes", 0);
    s.data_pss_bytes_all_ranks = optional_field<int64_t>(j, "data_pss_bytes_all_ranks", 0);
    s.data_windows = optional_field<std::string>(j, "data_windows", "");
    s.data_cache = optional_field<std::string>(j, "data_cache", "");
    s.train_seconds = optional_field(j, "train_seconds", 0.0);
    s.train_samples = optional_field<int64_t>(j, "train_samples", 0);
    s.samples_per_second = optional_field(j, "samples_per_second", 0.0);
    s.comm_wait_seconds = optional_field(j, "comm_wait_seconds", 0.0);
    s.comm_wait_share = optional_field(j, "comm_wait_share", 0.0);
    s.grad_bytes_per_step = optional_field<int64_t>(j, "grad_bytes_per_step", 0);
    s.embedding_optimizer = optional_field<std::string>(j, "embedding_optimizer", "dense");
    s.steps_per_epoch = optional_field<int64_t>(j, "steps_per_epoch", 0);
    s.batch_size = optional_field(j, "batch_size", 0);
    s.seed = optional_field<int64_t>(j, "seed", 0);
    s.precision = optional_field<std::string>(j, "precision", "");
    s.cuda_graph = optional_field(j, "cuda_graph", false);
    s.parameters = optional_field<int64_t>(j, "parameters", 0);
    s.world_size = optional_field(j, "world_size", 1);
    s.backend = optional_field<std::string>(j, "backend", "");
    s.device = optional_field<std::string>(j, "device", "");
    s.torch = optional_field<std::string>(j, "torch", "");
    s.weights_crc32 = optional_field<std::string>(j, "weights_crc32", "");
  } catch (const nlohmann::json::exception& e) {
    throw InputError::in(source, std::string("not a valid run summary: ") + e.what());
  }
  return s;
}

RunSummary read_run_summary(const std::string& path) {
  return run_summary_from_json(read_file(path, "run summary"), path);
}

}  // namespace mlrec::train
