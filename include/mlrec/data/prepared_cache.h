// The prepared-data cache (data.cache_dir): one file per (data, preparation settings) holding the
// prepared ratings as flat arrays, which later runs, sweep trials and every rank on the host map
// into memory instead of parsing the text again. Mapped, the arrays live once in the host's page
// cache, however many ranks read them: one copy of the data per host.
//
// The key. A cache file is found by a hash of its key and used only when the key it holds is
// the key of the run asking, in full: the format version of this file, the canonical path, size
// and modification time (in nanoseconds) of every data file the run reads, and every setting that
// changes the prepared samples (data.format, the split, the window length, the interactions
// reader's options). So the same data with other settings, or edited data, gets a file of its
// own, as make, ninja and ccache's direct mode decide from sizes and times; a file replaced by
// one of the same size and time (`touch -r`, a copy that keeps times) is the one case this
// misses: clear the cache folder then.
//
// The file: 8 bytes of magic ("MLRECPD1"), the header's length (uint64, little-endian), the header
// (JSON: the key, the run-independent facts and where each array sits, with its CRC-32), then
// each array aligned to 4 KiB. It is written to a temporary file and renamed into place
// (common/file_io.h), so a reader never sees a half-written cache; a file that does not parse,
// whose size or arrays do not add up, or whose bytes differ from their checksums, is refused (and
// rebuilt), never trusted. Torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlrec/config/config.h"

namespace mlrec::data {

/// The key of the prepared data `options` describes (see above). InputError when a data file
/// cannot be read.
std::string prepared_cache_key(const config::Config::Data& options);
/// The cache file for `key` in `dir`: "<data folder or file name>-<hash of key>.mlrec-data".
std::string prepared_cache_path(const std::string& dir, const std::string& key, const std::string& data_name);

/// One array of a cache file.
struct CacheArray {
  std::string name;
  std::string dtype;           // "int32", "int64" or "float32"
  std::vector<int64_t> shape;
  const void* data = nullptr;  // writing: the caller's memory; reading: the mapped file's
  int64_t bytes() const;
};

/// An open cache file, mapped read-only and shared: its pages are the host's page cache, one copy
/// however many processes map it. Nothing writes to the arrays (datasets only gather from them).
class PreparedCacheFile {
 public:
  /// Maps `path` when it holds the cache for `key`; nullptr, with `why` set, when there is no
  /// file or it is refused (another key, a damaged or foreign file).
  static std::shared_ptr<const PreparedCacheFile> open(const std::string& path, const std::string& key,
                                                       std::string& why);
  ~PreparedCacheFile();
  PreparedCacheFile(const PreparedCacheFile&) = delete;
  PreparedCacheFile& operator=(const PreparedCacheFile&) = delete;

  /// What the writer stored besides the arrays.
  const nlohmann::json& facts() const { return facts_; }
  /// The array called `name`; InputError naming the file when it has none.
  const CacheArray& array(const std::string& name) const;
  bool has(const std::string& name) const;
  const std::string& path() const { return path_; }

 private:
  PreparedCacheFile() = default;
  std::string path_;
  void* mapping_ = nullptr;
  size_t mapped_bytes_ = 0;
  nlohmann::json facts_;
  std::vector<CacheArray> arrays_;
};

/// Writes the cache file at `path` atomically; std::runtime_error "PATH: cannot write: REASON"
/// (a full disk, a read-only folder) with nothing left behind.
void write_prepared_cache(const std::string& path, const std::string& key, const nlohmann::json& facts,
                          const std::vector<CacheArray>& arrays);

/// An exclusive lock on `path` (created if missing), held while it lives: the first rank (or
/// run) to ask for a missing cache builds it while the others wait, then they map it.
class CacheLock {
 public:
  explicit CacheLock(const std::string& path);
  ~CacheLock();
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace mlrec::data
