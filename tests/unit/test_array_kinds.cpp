// The contract of an array kind (models/array_kind.h), held for every kind in the registry:
// fold_count equals the folds schedule() builds; the folds' useful MACs add up to the layer's;
// the tiles the folds complete cover every output exactly once; mapped shares lie in (0, 1];
// and the config round trip (parse of echo) gives the same spec.
#include <doctest/doctest.h>

#include <vector>

#include "config/hw_config.h"
#include "models/array_kind.h"
#include "models/fold_schedule.h"
#include "models/tile_kernel.h"

using namespace accsim;

namespace {

// Small arrays of every kind and dataflow, sized so that layers fold unevenly.
std::vector<ArraySpec> arrays() {
    std::vector<ArraySpec> out;
    for (Dataflow d : {Dataflow::os, Dataflow::ws, Dataflow::is}) {
        ArraySpec a;
        a.kind = ArrayKind::systolic;
        a.rows = 3, a.cols = 4, a.dataflow = d;
        out.push_back(a);
    }
    ArraySpec v;
    v.kind = ArrayKind::vector;
    v.pe = 3, v.simd = 5;
    out.push_back(v);
    ArraySpec t;
    t.kind = ArrayKind::tensor_core;
    t.m = 4, t.n = 3, t.k = 2, t.units = 2, t.mma_cycles = 3;
    out.push_back(t);
    return out;
}

LayerWork layer(int64_t groups, int64_t m, int64_t n, int64_t k) {
    LayerWork w;
    w.name = "l";
    w.groups = groups, w.m = m, w.n = n, w.k = k;
    w.ifmap_elements = groups * m * k;
    w.filter_elements = groups * n * k;
    return w;
}

}  // namespace

TEST_CASE("every array kind has a model in the registry") {
    for (const auto& e : k_array_kind_names) CHECK_NOTHROW(array_kind_model(e.value));
}

TEST_CASE("every kind's folds count, add up and complete every output exactly once") {
    for (const ArraySpec& a : arrays())
        for (const LayerWork& w :
             {layer(1, 1, 1, 1), layer(1, 7, 5, 9), layer(2, 5, 8, 4), layer(3, 13, 2, 11)}) {
            CAPTURE(to_string(a.kind));
            CAPTURE(to_string(a.dataflow));
            CAPTURE(w.m);
            const ArrayKindModel& kind = array_kind_model(a.kind);
            const FoldSchedule s = schedule_folds(a, w, TimingConvention::native);
            CHECK(kind.fold_count(a, w) == static_cast<int64_t>(s.folds.size()));
            int64_t macs = 0;
            std::vector<int> done(static_cast<std::size_t>(w.outputs()), 0);
            for (const Fold& f : s.folds) {
                macs += f.macs;
                const double share = kind.mapped_share(a, f);
                CHECK(share > 0);
                CHECK(share <= 1.0 + 1e-12);
                for (const OutputTile& t : completed_tiles(a, w, f))
                    for (int64_t m = t.m0; m < t.m1; ++m)
                        for (int64_t n = t.n0; n < t.n1; ++n)
                            ++done[static_cast<std::size_t>((t.group * w.m + m) * w.n + n)];
            }
            CHECK(macs == w.macs());
            for (int d : done) CHECK(d == 1);
        }
}

TEST_CASE("every kind's configuration keys round-trip through parse and echo") {
    for (const ArraySpec& a : arrays()) {
        nlohmann::json doc = {
            {"name", "t"},
            {"target", "asic"},
            {"clock_mhz", 500},
            {"accumulator", {{"stages", {{{"length", 2}, {"bits", 16}}, {{"bits", 32}}}}}}};
        nlohmann::ordered_json array = {{"kind", to_string(a.kind)}};
        const nlohmann::ordered_json keys = array_kind_model(a.kind).echo(a);
        for (const auto& [key, value] : keys.items()) array[key] = value;
        doc["array"] = nlohmann::json::parse(array.dump());
        // Stage 1's length as the kind needs it (the array's rows, its SIMD, its MMA's k).
        doc["accumulator"]["stages"][0]["length"] = a.kind == ArrayKind::systolic ? a.rows
                                                    : a.kind == ArrayKind::vector ? a.simd
                                                                                  : a.k;
        if (a.kind == ArrayKind::vector) doc["accumulator"]["stages"][0]["reduction"] = "tree";
        const HwConfig c = parse_config(doc, "t.json", false);
        REQUIRE(c.array.has_value());
        CHECK(c.effective["array"] == array);
    }
}
