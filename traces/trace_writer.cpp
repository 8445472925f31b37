#include "trace_writer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "datapath/input_error.h"

namespace accsim {

void write_trace(const std::string& dir, const nlohmann::json& manifest,
                 const std::vector<TensorBlob>& tensors) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw InputError(dir, "directory", std::string("cannot create: ") + std::strerror(errno));
    if (!manifest.contains("tensors") || !manifest["tensors"].is_string())
        throw InputError(dir + "/manifest.json", "/tensors",
                         "the writer needs one safetensors file name");
    write_safetensors(dir + "/" + manifest["tensors"].get<std::string>(), tensors);
    std::ofstream f(dir + "/manifest.json", std::ios::trunc);
    if (!f) throw InputError(dir + "/manifest.json", "file", "cannot open for writing");
    f << manifest.dump(2) << "\n";
}

}  // namespace accsim
