#include "mlrec/train/event_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "mlrec/common/file_io.h"
#include "support/temp_dir.h"

namespace mlrec::train {
namespace {

TEST(EventFile, MaskedCrc32cOfTheCheckString) {
  // CRC-32C("123456789") = 0xE3069283 (the Castagnoli check value), masked as TFRecord does.
  const uint32_t crc = 0xE3069283u;
  EXPECT_EQ(masked_crc32c("123456789", 9), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(EventFile, RecordsAreFramedWithTheirLengthAndChecksums) {
  test_support::TempDir tmp;
  std::string path;
  {
    EventFileWriter writer(tmp.file("tb"));
    writer.add_scalar("valid/mae", 0.75, 10);
    path = writer.path();
  }
  EXPECT_EQ(std::filesystem::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u);
  const std::string bytes = read_file(path, "event file");
  size_t at = 0, records = 0;
  while (at < bytes.size()) {
    ASSERT_GE(bytes.size() - at, 16u);
    uint64_t length;
    std::memcpy(&length, bytes.data() + at, 8);
    uint32_t length_crc, data_crc;
    std::memcpy(&length_crc, bytes.data() + at + 8, 4);
    EXPECT_EQ(length_crc, masked_crc32c(bytes.data() + at, 8));
    ASSERT_LE(at + 12 + length + 4, bytes.size());
    std::memcpy(&data_crc, bytes.data() + at + 12 + length, 4);
    EXPECT_EQ(data_crc, masked_crc32c(bytes.data() + at + 12, length));
    at += 12 + length + 4;
    ++records;
  }
  EXPECT_EQ(records, 2u);  // the file version, the scalar
  EXPECT_NE(bytes.find("brain.Event:2"), std::string::npos);
  EXPECT_NE(bytes.find("valid/mae"), std::string::npos);
}

}  // namespace
}  // namespace mlrec::train
