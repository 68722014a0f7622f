#include "mlrec/data/prepared_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mlrec/common/checksum.h"
#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/config/config.h"

namespace mlrec::data {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'M', 'L', 'R', 'E', 'C', 'P', 'D', '1'};
constexpr size_t kAlignment = 4096;
// Raised whenever what the file holds, or how the data is prepared, changes: older files are
// then refused (their key differs) and rebuilt. 2: each array's CRC-32 in the header. 3: the
// rating pair (-1, -1) is kept (format 2 files may lack it: its hash key was the table's empty
// mark until 970f011).
constexpr int kFormatVersion = 3;

int64_t element_bytes(const std::string& dtype) {
  if (dtype == "int32" || dtype == "float32") return 4;
  if (dtype == "int64") return 8;
  return 0;
}

// "path size bytes, modified SECONDS.NANOSECONDS" of one data file.
std::string file_identity(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw InputError::in(file.string(), std::string("cannot read: ") + std::strerror(errno));
  return fmt::format("{} {} bytes, modified {}.{:09d}", fs::weakly_canonical(file).string(), st.st_size,
                     st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

}  // namespace

int64_t CacheArray::bytes() const {
  int64_t n = element_bytes(dtype);
  for (const int64_t d : shape) n *= d;
  return n;
}

std::string prepared_cache_key(const config::Config::Data& options) {
  std::string key = fmt::format("mlrec prepared data, format {}\n", kFormatVersion);
  // The files the run reads: the release folder's files (every one: which a release reads is
  // the reader's business), or the interactions file. Side tables are read on every run.
  std::vector<fs::path> files;
  if (options.format == "interactions") {
    files.push_back(options.interactions.path);
  } else {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(options.dir, error)) {
      const std::string name = entry.path().filename().string();
      // Hidden files, and the cache's own files where the cache folder is the data folder (else
      // every cache written would change the key of the next).
      if (!entry.is_regular_file() || name.rfind('.', 0) == 0 || name.find(".mlrec-data") != std::string::npos) continue;
      files.push_back(entry.path());
    }
    if (error) throw InputError::in(options.dir, "cannot list the data folder: " + error.message());
    std::sort(files.begin(), files.end());
  }
  for (const auto& file : files) key += "file " + file_identity(file) + "\n";
  // Every data.* setting that changes the samples (not where they sit or how they are held).
  config::Config settings;
  settings.data = options;
  for (const auto& spec : config::param_specs()) {
    const std::string& k = spec.key;
    if (k.rfind("data.", 0) != 0 || config::is_data_location_or_storage_key(k)) continue;
    key += k + "=" + config::param_text(settings, k) + "\n";
  }
  return key;
}

std::string prepared_cache_path(const std::string& dir, const std::string& key, const std::string& data_name) {
  Fnv1a64 hash;
  hash.add(key.data(), key.size());
  std::string name = fs::path(data_name).filename().string();
  if (name.empty()) name = fs::path(data_name).parent_path().filename().string();  // "dir/"
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.'; }, '_');
  return (fs::path(dir) / fmt::format("{}-{:016x}.mlrec-data", name.empty() ? "data" : name, hash.value())).string();
}

std::shared_ptr<const PreparedCacheFile> PreparedCacheFile::open(const std::string& path, const std::string& key,
                                                                 std::string& why) {
  why.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = errno == ENOENT ? "" : path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const size_t bytes = stat_ok ? static_cast<size_t>(st.st_size) : 0;
  // Shared and populated: the pages are the page cache's, read in now (a second rank finds them
  // there), so that the data is resident when it is ready, as data read from the text would be.
  void* mapping = bytes > 0 ? ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0) : MAP_FAILED;
  ::close(fd);  // the mapping keeps the file
  if (mapping == MAP_FAILED) {
    why = path + ": cannot map it";
    return nullptr;
  }
  std::shared_ptr<PreparedCacheFile> file(new PreparedCacheFile);
  file->path_ = path;
  file->mapping_ = mapping;
  file->mapped_bytes_ = bytes;
  const auto* base = static_cast<const char*>(mapping);
  const auto refuse = [&](const std::string& reason) {
    why = path + ": " + reason;
    return nullptr;
  };
  uint64_t header_bytes = 0;
  if (bytes < sizeof(kMagic) + sizeof(header_bytes) || std::memcmp(base, kMagic, sizeof(kMagic)) != 0) {
    return refuse("not an mlrec prepared-data cache");
  }
  std::memcpy(&header_bytes, base + sizeof(kMagic), sizeof(header_bytes));
  const size_t header_start = sizeof(kMagic) + sizeof(header_bytes);
  if (header_bytes > bytes - header_start) return refuse("damaged (its header runs past its end)");
  nlohmann::json header = nlohmann::json::parse(base + header_start, base + header_start + header_bytes, nullptr, false);
  if (header.is_discarded() || !header.is_object() || !header.contains("key") || !header.contains("arrays") ||
      !header.contains("facts") || !header.contains("file_bytes")) {
    return refuse("damaged (its header does not parse)");
  }
  if (header["key"] != key) return refuse("holds other data or other settings (its key differs)");
  if (header["file_bytes"] != bytes) return refuse("damaged (it is not as long as its header says)");
  try {
    for (const auto& a : header["arrays"]) {
      CacheArray array;
      array.name = a.at("name").get<std::string>();
      array.dtype = a.at("dtype").get<std::string>();
      array.shape = a.at("shape").get<std::vector<int64_t>>();
      const auto offset = a.at("offset").get<uint64_t>();
      const bool shape_ok = std::all_of(array.shape.begin(), array.shape.end(), [](int64_t d) { return d >= 0; });
      if (element_bytes(array.dtype) == 0 || !shape_ok || offset % kAlignment != 0 || offset > bytes ||
          static_cast<uint64_t>(array.bytes()) > bytes - offset) {
        return refuse("damaged (array " + array.name + " lies outside it)");
      }
      array.data = base + offset;
      // Damage inside an array (a flipped bit, bytes overwritten) passes every check above and
      // would train on wrong ids or index past a table: each array's checksum is compared, at
      // ~0.25 s per GB on one core, still far below parsing the text again.
      if (a.at("crc32").get<uint32_t>() != crc32_of(array.data, static_cast<size_t>(array.bytes()))) {
        return refuse("damaged (array " + array.name + "'s checksum differs)");
      }
      file->arrays_.push_back(std::move(array));
    }
  } catch (const nlohmann::json::exception&) {
    return refuse("damaged (its array table does not parse)");
  }
  file->facts_ = std::move(header["facts"]);
  return file;
}

PreparedCacheFile::~PreparedCacheFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapped_bytes_);
}

bool PreparedCacheFile::has(const std::string& name) const {
  return std::any_of(arrays_.begin(), arrays_.end(), [&](const CacheArray& a) { return a.name == name; });
}

const CacheArray& PreparedCacheFile::array(const std::string& name) const {
  for (const auto& a : arrays_) {
    if (a.name == name) return a;
  }
  throw InputError::in(path_, "has no array " + name + " (written by another mlrec?)");
}

void write_prepared_cache(const std::string& path, const std::string& key, const nlohmann::json& facts,
                          const std::vector<CacheArray>& arrays) {
  // The header holds the arrays' offsets, and the header's length decides where the first array
  // starts: lay out, write the header, and lay out again from its length (rounded up to 4 KiB)
  // until the two agree, which the second pass almost always does.
  nlohmann::json header = {{"key", key}, {"facts", facts}, {"arrays", nlohmann::json::array()}, {"file_bytes", 0}};
  std::string text;
  uint64_t data_start = 0;
  std::vector<uint32_t> crcs;
  for (const auto& a : arrays) crcs.push_back(crc32_of(a.data, static_cast<size_t>(a.bytes())));
  for (;;) {  // the start only grows, so this ends
    uint64_t offset = data_start;
    header["arrays"] = nlohmann::json::array();
    for (const auto& a : arrays) {
      header["arrays"].push_back({{"name", a.name},
                                  {"dtype", a.dtype},
                                  {"shape", a.shape},
                                  {"offset", offset},
                                  {"crc32", crcs[static_cast<size_t>(&a - arrays.data())]}});
      offset = (offset + static_cast<uint64_t>(a.bytes()) + kAlignment - 1) / kAlignment * kAlignment;
    }
    header["file_bytes"] = offset;
    text = header.dump();
    const uint64_t needed = (sizeof(kMagic) + sizeof(uint64_t) + text.size() + kAlignment - 1) / kAlignment * kAlignment;
    if (needed == data_start) break;
    data_start = needed;
  }
  AtomicFileWriter file(path);
  const uint64_t header_bytes = text.size();
  file.append(kMagic, sizeof(kMagic));
  file.append(&header_bytes, sizeof(header_bytes));
  file.append(text.data(), text.size());
  for (const auto& a : arrays) {
    file.pad_to(kAlignment);
    MLREC_CHECK(file.size() == header["arrays"][&a - arrays.data()]["offset"].get<uint64_t>(), "cache layout");
    file.append(a.data, static_cast<size_t>(a.bytes()));
  }
  file.pad_to(kAlignment);
  MLREC_CHECK(file.size() == header["file_bytes"].get<uint64_t>(), "cache layout");
  file.commit();
}

CacheLock::CacheLock(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path + ": cannot open the cache's lock: " + std::strerror(errno));
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      const int error = errno;
      ::close(fd_);
      throw std::runtime_error(path + ": cannot lock the cache: " + std::strerror(error));
    }
  }
}

CacheLock::~CacheLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace mlrec::data
