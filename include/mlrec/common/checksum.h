// CRC-32 (the zlib/PNG polynomial) of bytes, through Boost.CRC: checkpoints carry it to tell a
// damaged file from a valid one, and data fingerprints use it to tell data sets apart.
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

inline uint32_t crc32_of(const std::string& bytes) {
  Crc32 crc;
  crc.add(bytes.data(), bytes.size());
  return crc.value();
}

}  // namespace mlrec
