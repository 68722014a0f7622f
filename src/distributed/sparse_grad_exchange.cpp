#include "mlrec/distributed/sparse_grad_exchange.h"

#include "mlrec/common/error.h"
#include "mlrec/common/timer.h"

namespace mlrec::dist {

TouchedRows touched_rows(const torch::Tensor& table) {
  const torch::Tensor& grad = table.grad();
  const auto index_options = torch::TensorOptions().dtype(torch::kInt64).device(table.device());
  if (!grad.defined()) {
    // A table not looked up: no rows (a zero gradient would touch them all).
    return {torch::empty({0}, index_options), torch::empty({0, table.size(1)}, table.options())};
  }
  if (!grad.is_sparse()) return {torch::arange(table.size(0), index_options), grad};
  // Duplicate rows (a user twice in the batch, several micro-batches, ranks) summed.
  const auto summed = grad.coalesce();
  return {summed._indices().select(0, 0), summed._values()};
}

SparseGradientExchange::SparseGradientExchange(std::vector<torch::Tensor> tables, Communicator& comm)
    : tables_(std::move(tables)), comm_(comm) {}

int64_t SparseGradientExchange::dense_bytes() const {
  int64_t bytes = 0;
  for (const auto& t : tables_) bytes += t.numel() * t.element_size();
  return bytes;
}

double SparseGradientExchange::exchange() {
  torch::NoGradGuard no_grad;
  const int world = comm_.world_size(), rank = comm_.rank();
  Stopwatch waiting;
  double wait_seconds = 0;
  bytes_ = 0;
  // This rank's touched rows and their summed gradients, per table.
  const size_t n = tables_.size();
  std::vector<torch::Tensor> rows(n), values(n);
  auto counts = torch::zeros({static_cast<int64_t>(n), world}, torch::kInt64);
  for (size_t t = 0; t < n; ++t) {
    // (A dense gradient touches every row: the whole-table all-reduce below.)
    auto touched = touched_rows(tables_[t]);
    rows[t] = std::move(touched.rows);
    values[t] = std::move(touched.values);
    counts[static_cast<int64_t>(t)][rank] = rows[t].numel();
  }
  waiting.restart();
  comm_.host().all_reduce_sum(counts, "sparse grad: row counts");
  wait_seconds += waiting.seconds();
  bytes_ += counts.numel() * counts.element_size();

  // Per table, the cheaper way; the gathered tables share one all-gather of rows and one of
  // values (three collectives a step however many tables).
  struct Gathered {
    size_t table;
    int64_t most, row_offset, value_offset;
  };
  std::vector<Gathered> gathered;
  int64_t row_slot = 0, value_slot = 0;
  for (size_t t = 0; t < n; ++t) {
    auto& table = tables_[t];
    const int64_t dim = table.size(1);
    const int64_t most = counts[static_cast<int64_t>(t)].max().item<int64_t>();
    const int64_t gather_bytes = world * most * (dim * table.element_size() + 8);
    const int64_t dense = table.size(0) * (dim + 1) * table.element_size();
    if (gather_bytes < dense) {
      MLREC_CHECK(values[t].scalar_type() == values[0].scalar_type(), "embedding tables of one dtype");
      gathered.push_back({t, most, row_slot, value_slot});
      row_slot += most;
      value_slot += most * dim;
      continue;
    }
    // The whole table, with a column that counts the ranks touching each row: the result stays
    // sparse over the union of touched rows, so that a row no rank touched is left alone
    // exactly as on one rank (lazy updates skip it rather than see a zero gradient).
    auto full = torch::zeros({table.size(0), dim + 1}, values[t].options());
    full.narrow(1, 0, dim).index_add_(0, rows[t], values[t]);
    full.select(1, dim).index_fill_(0, rows[t], 1);
    waiting.restart();
    comm_.all_reduce_sum(full, "sparse grad: dense table");
    wait_seconds += waiting.seconds();
    bytes_ += full.numel() * full.element_size();
    const auto touched = full.select(1, dim).gt(0).nonzero().select(1, 0);
    table.mutable_grad() =
        torch::sparse_coo_tensor(touched.unsqueeze(0), full.index_select(0, touched).narrow(1, 0, dim).div_(world),
                                 table.sizes())
            ._coalesced_(true);
  }
  if (gathered.empty()) return wait_seconds;

  // Each rank's rows in a slot as large as the busiest rank's (collectives take one size from
  // every rank), gathered side by side.
  auto my_rows = torch::zeros({row_slot}, rows[0].options());
  auto my_values = torch::zeros({value_slot}, values[0].options());
  for (const auto& g : gathered) {
    const int64_t mine = rows[g.table].numel(), dim = tables_[g.table].size(1);
    my_rows.narrow(0, g.row_offset, mine).copy_(rows[g.table]);
    my_values.narrow(0, g.value_offset, mine * dim).copy_(values[g.table].reshape({-1}));
  }
  auto slot_rows = torch::empty({world, row_slot}, rows[0].options());
  auto slot_values = torch::empty({world, value_slot}, values[0].options());
  waiting.restart();
  comm_.all_gather(my_rows, slot_rows, "sparse grad: rows");
  comm_.all_gather(my_values, slot_values, "sparse grad: values");
  wait_seconds += waiting.seconds();
  bytes_ += slot_rows.numel() * 8 + slot_values.numel() * slot_values.element_size();
  for (const auto& g : gathered) {
    auto& table = tables_[g.table];
    const int64_t dim = table.size(1);
    std::vector<torch::Tensor> all_rows, all_values;
    for (int r = 0; r < world; ++r) {
      const int64_t count = counts[static_cast<int64_t>(g.table)][r].item<int64_t>();
      all_rows.push_back(slot_rows[r].narrow(0, g.row_offset, count));
      all_values.push_back(slot_values[r].narrow(0, g.value_offset, count * dim).view({count, dim}));
    }
    // Rows touched on several ranks are summed by coalesce, then divided: as the dense path
    // divides the sum.
    const auto sum =
        torch::sparse_coo_tensor(torch::cat(all_rows).unsqueeze(0), torch::cat(all_values), table.sizes()).coalesce();
    table.mutable_grad() =
        torch::sparse_coo_tensor(sum._indices(), sum._values().div(world), table.sizes())._coalesced_(true);
  }
  return wait_seconds;
}

}  // namespace mlrec::dist
