// A small headered CSV or TSV file read as text: the input of `predict` and the user lists of
// `recommend`. Fields are strings (ids stay as the user wrote them); RFC-4180 quoting, CRLF, a
// missing final newline and a UTF-8 byte-order mark are accepted, as by the data readers.
// Torch-free.
#pragma once

#include <string>
#include <vector>

namespace mlrec::data {

struct TextTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as wide as the header
  std::vector<long> lines;                     // the file line of each row, for messages

  /// The index of the column called `name`, or -1; InputError "FILE:1: ..." when two columns
  /// have that name.
  int column(const std::string& name) const;
};

/// Reads path; the delimiter is a tab for .tsv/.tab files, else a comma. InputError
/// "FILE:LINE: reason" for a row with another number of fields than the header, a malformed
/// quote, or a file with no header.
TextTable read_text_table(const std::string& path);

}  // namespace mlrec::data
