// Checksums of bytes. CRC-32 (the zlib/PNG polynomial, through Boost.CRC): checkpoints carry it to
// tell a damaged file from a valid one, and data fingerprints use it to tell data sets apart.
// FNV-1a (64 bits): the hashes ranks compare to agree on a model or a configuration.
#pragma once

#include <boost/crc.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace mlrec {

class Crc32 {
 public:
  void add(const void* data, size_t bytes) { crc_.process_bytes(data, bytes); }
  uint32_t value() const { return crc_.checksum(); }

 private:
  boost::crc_32_type crc_;
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

inline uint32_t crc32_of(const std::string& bytes) {
  Crc32 crc;
  crc.add(bytes.data(), bytes.size());
  return crc.value();
}

}  // namespace mlrec
