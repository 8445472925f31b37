// Sweep grids: --grid axes (the input's lines but the last) and --acc-grid (the last line),
// expanded into points as a sweep does.
#include "fuzz_input.h"
#include "sweep/sweep_grid.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace accsim;
    return fuzz::contract([&] {
        std::vector<std::string> lines(1);
        for (char c : fuzz::text(data, size)) {
            if (c == '\n')
                lines.emplace_back();
            else
                lines.back() += c;
        }
        std::vector<GridAxis> axes;
        for (std::size_t i = 0; i + 1 < lines.size(); ++i) axes.push_back(parse_grid(lines[i]));
        std::vector<std::string> accs;
        if (!lines.back().empty()) accs = parse_acc_grid(lines.back());
        expand_grid(axes, accs, 10000);
    });
}
