#include "mlrec/train/event_file.h"

#include <boost/crc.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "mlrec/common/error.h"

namespace mlrec::train {
namespace {

// Protocol buffer wire format: a field is a key (number << 3 | wire type) then its value.
void varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}
void key(std::string& out, int field, int wire_type) { varint(out, (uint64_t(field) << 3) | uint64_t(wire_type)); }
void bytes_field(std::string& out, int field, const std::string& bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}
void double_field(std::string& out, int field, double value) {
  key(out, field, 1);
  char raw[8];
  std::memcpy(raw, &value, 8);  // little-endian, as the wire format
  out.append(raw, 8);
}
void float_field(std::string& out, int field, float value) {
  key(out, field, 5);
  char raw[4];
  std::memcpy(raw, &value, 4);
  out.append(raw, 4);
}
void int_field(std::string& out, int field, int64_t value) {
  key(out, field, 0);
  varint(out, static_cast<uint64_t>(value));
}

// Event (tensorflow/core/util/event.proto): wall_time 1, step 2, file_version 3, summary 5.
std::string event_header(int64_t step) {
  std::string event;
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  double_field(event, 1, now);
  int_field(event, 2, step);
  return event;
}

void write_all(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InputError::in(path, std::string("cannot write the TensorBoard event file: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

}  // namespace

uint32_t masked_crc32c(const void* data, size_t size) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data, size);
  const uint32_t c = crc.checksum();
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventFileWriter::EventFileWriter(const std::string& dir) {
  std::filesystem::create_directories(dir);
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  path_ = (std::filesystem::path(dir) / ("events.out.tfevents." + std::to_string(seconds.count()) + "." + host)).string();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError::in(path_, std::string("cannot create the TensorBoard event file: ") + std::strerror(errno));
  std::string event = event_header(0);
  bytes_field(event, 3, "brain.Event:2");
  write_event(event);
}

EventFileWriter::~EventFileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void EventFileWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  std::string summary_value;  // Summary.Value: tag 1, simple_value 2
  bytes_field(summary_value, 1, tag);
  float_field(summary_value, 2, static_cast<float>(value));
  std::string summary;        // Summary: value 1 (repeated)
  bytes_field(summary, 1, summary_value);
  std::string event = event_header(step);
  bytes_field(event, 5, summary);
  write_event(event);
}

void EventFileWriter::add_text(const std::string& tag, const std::string& text, int64_t step) {
  // The text plugin's form: Summary.Value { tag 1, metadata 9 { plugin_data 1 { plugin_name 1 }
  // }, tensor 8 { dtype 1 = DT_STRING (7), tensor_shape 2 {}, string_val 8 } }.
  std::string plugin_data;
  bytes_field(plugin_data, 1, "text");
  std::string metadata;
  bytes_field(metadata, 1, plugin_data);
  std::string tensor;
  int_field(tensor, 1, 7);
  bytes_field(tensor, 2, "");
  bytes_field(tensor, 8, text);
  std::string summary_value;
  bytes_field(summary_value, 1, tag);
  bytes_field(summary_value, 9, metadata);
  bytes_field(summary_value, 8, tensor);
  std::string summary;
  bytes_field(summary, 1, summary_value);
  std::string event = event_header(step);
  bytes_field(event, 5, summary);
  write_event(event);
}

void EventFileWriter::write_event(const std::string& event) {
  std::string record;
  const uint64_t length = event.size();
  char raw[8];
  std::memcpy(raw, &length, 8);
  record.append(raw, 8);
  uint32_t crc = masked_crc32c(raw, 8);
  record.append(reinterpret_cast<const char*>(&crc), 4);
  record += event;
  crc = masked_crc32c(event.data(), event.size());
  record.append(reinterpret_cast<const char*>(&crc), 4);
  write_all(fd_, record, path_);  // one write per record: a killed run leaves whole records
}

}  // namespace mlrec::train
