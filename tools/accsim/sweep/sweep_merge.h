#pragma once
// `accsim sweep-merge --out DIR SHARD_DIR...`: the shards of one sweep (`accsim sweep ...
// --shard k/N --out SHARD_DIR`, run anywhere, in any order) combined into DIR: sweep.json,
// sweep.csv and sweep.html, the same bytes as one run of the whole sweep, and the journal of
// every point (so that `accsim sweep ... --resume --out DIR` finds nothing left to do).
//
// Every shard 1..N must be given once, finished (its shard.json written at its end), and of
// the same sweep and accsim; anything else is an InputError naming the shard directory.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace accsim {

// Returns sweep.json's content, after writing DIR's files.
nlohmann::ordered_json merge_sweep_shards(const std::string& out,
                                          const std::vector<std::string>& shard_dirs);

}  // namespace accsim
