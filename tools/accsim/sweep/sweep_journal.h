#pragma once
// DIR/points.jsonl, the journal of a sweep's finished points: a header line (format, accsim
// version, the sweep's definition: trace, layers, base config, grid; the shard, for a --shard
// run; and the report's trace section, for sweep-merge) and one line per point
// as it finishes, {"index": N, "record": {...}, "check": "<FNV-1a 64 of the record>"}.
// --resume reads it back. The header must be this sweep's and this accsim's, or the resume is
// refused; a record line is trusted only when its checksum, its shape and the grid values it
// claims all hold: a damaged or edited record is recomputed instead. The journal is appended
// point by point and rewritten only atomically (a new file, flushed to disk, renamed over the
// old), so an interrupt at any moment loses no finished point.
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace accsim {

// `extra`: {"shard": {"k", "n"} or null, "trace": the report's trace section}.
std::string journal_header_line(const nlohmann::ordered_json& definition,
                                const nlohmann::ordered_json& extra);
std::string journal_line(std::size_t index, const nlohmann::ordered_json& record);
// The same line from the record's compact JSON text (as record.dump() writes it, invalid UTF-8
// replaced): no JSON work.
std::string journal_line_of_text(std::size_t index, const std::string& record_text);

struct JournalContents {
    std::map<std::size_t, nlohmann::ordered_json> done;  // trusted records, by point index
    std::size_t damaged = 0;                             // record lines not trusted
};

// The header line of the journal at `path`, parsed. Throws InputError(path, "line 1", ...) for
// a file that is not a journal, or a journal of another accsim.
nlohmann::ordered_json read_journal_header(const std::string& path);

// The finished points of the sweep `definition` (and `shard`: null or {"k", "n"}) whose point i
// has the grid values `values[i]`, with `layers` layers. A last line cut short (killed while
// writing) is dropped; a header cut short means nothing finished. Throws InputError(path,
// "line 1", "definition" or "shard", ...) for a journal of another sweep, shard or accsim, or
// one that is not a journal.
JournalContents read_journal(const std::string& path, const nlohmann::ordered_json& definition,
                             const nlohmann::ordered_json& shard,
                             const std::vector<nlohmann::ordered_json>& values, std::size_t layers);

// Replaces the journal at `path` by the header and `done`, atomically.
void rewrite_journal(const std::string& path, const nlohmann::ordered_json& definition,
                     const nlohmann::ordered_json& extra,
                     const std::map<std::size_t, nlohmann::ordered_json>& done);

// Why `record` is not a point record of `layers` layers, or "" when it is one.
std::string record_problem(const nlohmann::ordered_json& record, std::size_t layers);

}  // namespace accsim
