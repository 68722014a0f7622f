// A TensorBoard event file, written without TensorFlow: LibTorch has no writer for it (pytorch
// #61626). The format is a sequence of records (uint64 length, masked CRC-32C of the length, an
// Event protocol buffer, masked CRC-32C of it). The few Event and Summary fields mlrec writes
// (scalars, and text for the configuration) are encoded here in a page of protobuf wire format,
// where generated code would add protoc and libprotobuf to every build and image; CRC-32C is
// Boost's (boost/crc.hpp). A test reads the file back with the tensorboard package. Torch-free.
#pragma once

#include <cstdint>
#include <string>

namespace mlrec::train {

class EventFileWriter {
 public:
  /// Creates dir (if needed) and dir/events.out.tfevents.<seconds>.<host>, and writes the file
  /// version record. Appends are flushed to the OS at once: a killed run keeps what it logged.
  explicit EventFileWriter(const std::string& dir);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  void add_scalar(const std::string& tag, double value, int64_t step);
  /// Text shown in TensorBoard's Text tab (Markdown; the configuration, in a code block).
  void add_text(const std::string& tag, const std::string& text, int64_t step);
  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& event_fields);
  std::string path_;
  int fd_ = -1;
};

/// The masked CRC-32C of TFRecord framing (exposed for the test of its known values).
uint32_t masked_crc32c(const void* data, size_t size);

}  // namespace mlrec::train
