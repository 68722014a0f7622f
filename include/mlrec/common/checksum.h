// Checksums of bytes. CRC-32 (the zlib/PNG polynomial): checkpoints carry it to
// tell a damaged file from a valid one, and data fingerprints use it to tell data sets apart.
// FNV-1a (64 bits): the hashes ranks compare to agree on a model or a configuration.
#pragma once

#if MLREC_HAVE_ZLIB
#include <zlib.h>
#else
#include <boost/crc.hpp>
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mlrec {

// zlib's crc32 where the build found zlib (CMakeLists.txt), else Boost's: the same CRC-32 and the
// same values, but zlib's is several times faster, which matters for the fingerprints of tens of
// millions of samples (gigabytes of sample rows).
class Crc32 {
 public:
#if MLREC_HAVE_ZLIB
  void add(const void* data, size_t bytes) {
    const auto* p = static_cast<const Bytef*>(data);
    while (bytes > 0) {  // zlib takes the length as uInt
      const auto n = static_cast<uInt>(std::min<size_t>(bytes, size_t{1} << 30));
      crc_ = ::crc32(crc_, p, n);
      p += n;
      bytes -= n;
    }
  }
  uint32_t value() const { return static_cast<uint32_t>(crc_); }

 private:
  uLong crc_ = ::crc32(0L, Z_NULL, 0);
#else
  void add(const void* data, size_t bytes) { crc_.process_bytes(data, bytes); }
  uint32_t value() const { return crc_.checksum(); }

 private:
  boost::crc_32_type crc_;
#endif
};

class Fnv1a64 {
 public:
  void add(const void* data, size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < bytes; ++i) hash_ = (hash_ ^ p[i]) * 1099511628211ULL;
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 1469598103934665603ULL;
};

inline uint32_t crc32_of(const void* data, size_t bytes) {
  Crc32 crc;
  crc.add(data, bytes);
  return crc.value();
}

inline uint32_t crc32_of(const std::string& bytes) { return crc32_of(bytes.data(), bytes.size()); }

}  // namespace mlrec
