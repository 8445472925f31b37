#pragma once
// Plain binary writing and reading of results, for sending them between the processes of a
// distributed job (tools/accsim/dist) and back into the same structures bit for bit.
//
//   ByteWriter w;
//   w.put(uint64_t{42});
//   w.put_vector(std::vector<int>{1, 2});
//   ByteReader r(w.bytes());
//   const uint64_t n = r.get<uint64_t>();
//   const std::vector<int> v = r.get_vector<int>();
//   r.finish();  // throws unless every byte was read
//
// Values travel as their bytes (the processes of one job run the same build on the same kind of
// machine), so doubles, long doubles and 128-bit integers come back exactly. Reading past the
// end, or leaving bytes unread, throws std::runtime_error: a message that does not parse is a
// bug, never data to trust.
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace accsim {

class ByteWriter {
  public:
    template <typename T>
    void put(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>, "plain values only");
        const auto* p = reinterpret_cast<const char*>(&v);
        m_bytes.append(p, sizeof(T));
    }
    // An x87 long double holds 10 bytes in 16: the padding is written as zeros, so that the
    // same value always gives the same bytes.
    void put(const long double& v) {
        constexpr std::size_t k_value_bytes =
            std::numeric_limits<long double>::digits == 64 ? 10 : sizeof(long double);
        char bytes[sizeof(long double)] = {};
        std::memcpy(bytes, &v, k_value_bytes);
        m_bytes.append(bytes, sizeof bytes);
    }
    void put_bool(bool b) { put(static_cast<uint8_t>(b)); }
    // Bytes another writer wrote, as they are (no length: the reader reads them as their parts).
    void put_raw(const std::string& bytes) { m_bytes.append(bytes); }
    void put_string(const std::string& s) {
        put(static_cast<uint64_t>(s.size()));
        m_bytes.append(s);
    }
    template <typename T>
    void put_vector(const std::vector<T>& v) {
        put(static_cast<uint64_t>(v.size()));
        for (const T& x : v) put(x);
    }
    const std::string& bytes() const { return m_bytes; }
    std::string take() { return std::move(m_bytes); }

  private:
    std::string m_bytes;
};

class ByteReader {
  public:
    // Reads `bytes` in place: they must outlive the reader (a temporary may not be read).
    explicit ByteReader(const std::string& bytes) : m_bytes(bytes) {}
    explicit ByteReader(std::string&&) = delete;

    template <typename T>
    T get() {
        static_assert(std::is_trivially_copyable_v<T>, "plain values only");
        need(sizeof(T));
        T v;
        std::memcpy(&v, m_bytes.data() + m_at, sizeof(T));
        m_at += sizeof(T);
        return v;
    }
    bool get_bool() { return get<uint8_t>() != 0; }
    std::string get_string() {
        const uint64_t n = get<uint64_t>();
        need(n);
        std::string s = m_bytes.substr(m_at, n);
        m_at += n;
        return s;
    }
    template <typename T>
    std::vector<T> get_vector() {
        const uint64_t n = get<uint64_t>();
        // Before allocating: a bad count is refused, not allocated (divided, not multiplied, so
        // that no count wraps around to a small size).
        if (n > (m_bytes.size() - m_at) / sizeof(T))
            throw std::runtime_error("byte stream: read past the end");
        std::vector<T> v;
        v.reserve(n);
        for (uint64_t i = 0; i < n; ++i) v.push_back(get<T>());
        return v;
    }
    bool at_end() const { return m_at == m_bytes.size(); }
    void finish() const {
        if (!at_end()) throw std::runtime_error("byte stream: bytes left unread");
    }

  private:
    void need(uint64_t n) const {
        if (n > m_bytes.size() - m_at) throw std::runtime_error("byte stream: read past the end");
    }
    const std::string& m_bytes;
    std::size_t m_at = 0;
};

}  // namespace accsim
