#include "mlrec/data/text_table.h"

#include <algorithm>
#include <filesystem>

#include "text_reader.h"
#include "mlrec/common/error.h"

namespace mlrec::data {

int TextTable::column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return -1;
  const auto again = std::find(it + 1, header.end(), name);
  if (again != header.end()) {
    // Reading either copy silently would be a guess.
    throw InputError::at(path, 1, "column '" + name + "' appears twice in the header (columns " +
                                      std::to_string(it - header.begin() + 1) + " and " +
                                      std::to_string(again - header.begin() + 1) + ")");
  }
  return static_cast<int>(it - header.begin());
}

TextTable read_text_table(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  const char separator = extension == ".tsv" || extension == ".tab" ? '\t' : ',';
  const text::FileBuffer buffer = text::read_whole_file(path);
  text::LineReader reader(path, buffer);
  TextTable table;
  table.path = path;
  constexpr int kMaxFields = 64;
  std::vector<std::string_view> fields(kMaxFields);
  std::vector<std::string> storage(kMaxFields);
  auto split = [&](std::string_view line) {
    text::QuoteError error;
    const int count = text::split_quoted(line, separator, fields.data(), storage.data(), kMaxFields, &error);
    if (count < 0) reader.fail(error.reason);
    if (count > kMaxFields) reader.fail("more than " + std::to_string(kMaxFields) + " fields");
    return count;
  };
  std::string_view line;
  if (!reader.next(line)) throw InputError::in(path, "empty file (a header line is needed)");
  const int width = split(line);
  for (int i = 0; i < width; ++i) table.header.emplace_back(fields[static_cast<size_t>(i)]);
  while (reader.next(line)) {
    const int count = split(line);
    if (count != width) text::fail_field_count(reader, width, count, std::string_view(&separator, 1));
    table.rows.emplace_back(fields.begin(), fields.begin() + count);
    table.lines.push_back(reader.line_number());
  }
  return table;
}

}  // namespace mlrec::data
