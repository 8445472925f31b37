#pragma once
// A read-only memory map of a whole file (POSIX). Traces are read through it, so a layer's
// tensors cost address space, not copies.
#include <cstddef>
#include <cstdint>
#include <string>

namespace accsim {

class MappedFile {
  public:
    // Throws InputError(path, "file", ...) when the file cannot be opened or mapped.
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return m_data; }
    std::size_t size() const { return m_size; }

  private:
    const uint8_t* m_data = nullptr;
    std::size_t m_size = 0;
};

}  // namespace accsim
