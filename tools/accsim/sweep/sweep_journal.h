#pragma once
// DIR/points.jsonl, the journal of a sweep's finished points: a header line (format, accsim
// version, and the sweep's definition: trace, layers, base config, grid) and one line per point
// as it finishes, {"index": N, "record": {...}}. --resume reads it back, checking every record's
// shape, so that a journal from another sweep, another accsim or a damaged file is refused by
// line instead of producing wrong tables.
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace accsim {

nlohmann::ordered_json journal_header(const nlohmann::ordered_json& definition);

// The finished points (by index) of the sweep `definition` with `points` points of `layers`
// layers. A last line cut short (killed while writing) is dropped; a header cut short means
// nothing finished. Throws InputError(path, "line N" or "definition", ...).
std::map<std::size_t, nlohmann::ordered_json> read_journal(const std::string& path,
                                                           const nlohmann::ordered_json& definition,
                                                           std::size_t points, std::size_t layers);

// Why `record` is not a point record of `layers` layers, or "" when it is one.
std::string record_problem(const nlohmann::ordered_json& record, std::size_t layers);

}  // namespace accsim
