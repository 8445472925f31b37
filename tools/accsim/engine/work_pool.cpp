#include "engine/work_pool.h"

#include <stdexcept>

#include "datapath/parallel_for.h"

namespace accsim {

void LocalPool::drive(UnitSource* source, const UnitRunner& runner) {
    while (!source->finished()) {
        std::vector<WorkUnit> units = source->take(static_cast<std::size_t>(m_threads));
        if (units.empty())
            throw std::logic_error("work pool: no unit ready and none running, yet not finished");
        std::vector<std::string> results(units.size());
        std::vector<int64_t> side;
        for (std::size_t i = 0; i < units.size(); ++i) {
            if (units[i].alone || units.size() == 1)
                results[i] = runner(units[i].bytes, m_threads);
            else
                side.push_back(static_cast<int64_t>(i));
        }
        parallel_for(static_cast<int64_t>(side.size()), m_threads, [&](int64_t s) {
            const std::size_t i = static_cast<std::size_t>(side[static_cast<std::size_t>(s)]);
            results[i] = runner(units[i].bytes, 1);
        });
        for (std::size_t i = 0; i < units.size(); ++i) source->accept(units[i].id, results[i]);
    }
}

}  // namespace accsim
