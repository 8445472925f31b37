#pragma once
// A read-only memory map of a whole file (POSIX). Traces are read through it, so a layer's
// tensors cost address space, not copies.
#include <cstddef>
#include <cstdint>
#include <string>

namespace accsim {

class MappedFile {
  public:
    // Throws InputError(path, "file", ...) when the file cannot be opened or mapped, or is not
    // a regular file (a FIFO, a device such as /dev/zero, a directory): those are refused
    // without blocking and without reading. `max_bytes` (0: no limit) refuses larger files.
    explicit MappedFile(const std::string& path, std::size_t max_bytes = 0);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return m_data; }
    std::size_t size() const { return m_size; }

  private:
    const uint8_t* m_data = nullptr;
    std::size_t m_size = 0;
};

// A whole text file (a config, a topology, a journal), refused as MappedFile refuses one.
std::string read_text_file(const std::string& path, std::size_t max_bytes);

}  // namespace accsim
