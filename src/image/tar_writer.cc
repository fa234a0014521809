#include "image/tar_writer.h"

#include <cstdio>
#include <cstring>

namespace sbx::image {
namespace {

void put_octal(char* dst, size_t len, uint64_t v) {
  std::snprintf(dst, len, "%0*llo", static_cast<int>(len - 1), static_cast<unsigned long long>(v));
}

std::string header(char type, const std::string& name, const std::string& link, uint64_t size,
                   TarWriter::Attr a, uint32_t major = 0, uint32_t minor = 0) {
  char b[512] = {};
  std::memcpy(b, name.data(), std::min<size_t>(name.size(), 100));
  put_octal(b + 100, 8, a.mode);
  put_octal(b + 108, 8, a.uid);
  put_octal(b + 116, 8, a.gid);
  if (size < (1ULL << 33)) {
    put_octal(b + 124, 12, size);
  } else {  // GNU base-256: high bit set, big-endian in the remaining bytes
    b[124] = static_cast<char>(0x80);
    for (int i = 11; i >= 1; --i, size >>= 8) b[124 + i] = static_cast<char>(size & 0xff);
  }
  put_octal(b + 136, 12, 1700000000);
  b[156] = type;
  std::memcpy(b + 157, link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(b + 257,
              "ustar\0"
              "00",
              8);
  put_octal(b + 329, 8, major);
  put_octal(b + 337, 8, minor);
  std::memset(b + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : b) sum += c;
  std::snprintf(b + 148, 8, "%06o", sum);
  return std::string(b, sizeof b);
}

std::string padded(const std::string& data) {
  return data + std::string((512 - data.size() % 512) % 512, '\0');
}

}  // namespace

void TarWriter::raw(char type, const std::string& path, const std::string& link,
                    const std::string& data, Attr a) {
  if (path.size() > 100)
    out_ += header('L', "././@LongLink", "", path.size() + 1, {}) + padded(path + '\0');
  if (link.size() > 100)
    out_ += header('K', "././@LongLink", "", link.size() + 1, {}) + padded(link + '\0');
  out_ += header(type, path, link, data.size(), a) + padded(data);
}

void TarWriter::file(const std::string& path, const std::string& data, Attr a) {
  raw('0', path, "", data, a);
}
void TarWriter::dir(const std::string& path, Attr a) { raw('5', path, "", "", a); }
void TarWriter::symlink(const std::string& path, const std::string& target, Attr a) {
  raw('2', path, target, "", a);
}
void TarWriter::hardlink(const std::string& path, const std::string& target, Attr a) {
  raw('1', path, target, "", a);
}
void TarWriter::chardev(const std::string& path, uint32_t major, uint32_t minor, Attr a) {
  out_ += header('3', path, "", 0, a, major, minor);
}

std::string TarWriter::finish() { return out_ + end_blocks(); }

std::string TarWriter::file_header(const std::string& path, uint64_t size, Attr a) {
  std::string out;
  if (path.size() > 100)
    out += header('L', "././@LongLink", "", path.size() + 1, {}) + padded(path + '\0');
  return out + header('0', path, "", size, a);
}

std::string TarWriter::padding(uint64_t size) {
  return std::string((512 - size % 512) % 512, '\0');
}

std::string TarWriter::end_blocks() { return std::string(1024, '\0'); }

}  // namespace sbx::image
