#include "mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "datapath/input_error.h"

namespace accsim {

MappedFile::MappedFile(const std::string& path, std::size_t max_bytes) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw InputError(path, "file", std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw InputError(path, "file", "not a regular file");
    }
    m_size = static_cast<std::size_t>(st.st_size);
    if (max_bytes != 0 && m_size > max_bytes) {
        ::close(fd);
        throw InputError(path, "file",
                         "is " + std::to_string(m_size) + " bytes, more than the " +
                             std::to_string(max_bytes) + " accepted for it");
    }
    if (m_size > 0) {
        void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw InputError(path, "file", std::string("cannot map: ") + std::strerror(err));
        }
        m_data = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
}

std::string read_text_file(const std::string& path, std::size_t max_bytes) {
    const MappedFile f(path, max_bytes);
    return std::string(reinterpret_cast<const char*>(f.data()), f.size());
}

MappedFile::~MappedFile() {
    if (m_data) ::munmap(const_cast<uint8_t*>(m_data), m_size);
}

}  // namespace accsim
