// Every enum's name table (datapath/enum_names.h) names each value once, and parsing a name
// gives the value back: configs, the --acc shorthand, reports and sweep keys all read them.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "config/acc_shorthand.h"
#include "config/hw_config.h"
#include "datapath/accumulator_spec.h"
#include "datapath/overflow.h"
#include "models/array_spec.h"
#include "models/energy_spec.h"
#include "models/fold_schedule.h"
#include "models/fpga_spec.h"
#include "sweep/sweep_values.h"
#include "traces/lowering.h"
#include "traces/trace.h"

using namespace accsim;

namespace {

// `count`: how many values the enum has (its last value + 1).
template <class E, std::size_t N>
void check_table(const EnumName<E> (&table)[N], int count) {
    CHECK(N == static_cast<std::size_t>(count));
    std::set<std::string> names;
    for (int i = 0; i < count; ++i) {
        const E v = static_cast<E>(i);
        const std::string name = name_of(table, v);
        CHECK(names.insert(name).second);  // no name twice
        REQUIRE(value_of(table, name).has_value());
        CHECK(*value_of(table, name) == v);
    }
    CHECK_FALSE(value_of(table, "no such name").has_value());
}

}  // namespace

TEST_CASE("every enum's name table names each value once and parses back") {
    check_table(k_overflow_names, 2);
    check_table(k_overflow_flags, 2);
    check_table(k_reduction_names, 2);
    check_table(k_reduction_flags, 2);
    check_table(k_bias_names, 3);
    check_table(k_array_kind_names, 3);
    check_table(k_dataflow_names, 3);
    check_table(k_k_order_names, 2);
    check_table(k_layer_op_names, 3);
    check_table(k_timing_convention_names, 2);
    check_table(k_width_scaling_names, 4);
    check_table(k_gated_operand_names, 3);
    check_table(k_multiplier_style_names, 2);
    check_table(k_weight_memory_names, 3);
    check_table(k_target_names, 3);
    check_table(k_replay_kind_names, 4);
    CHECK(quoted_names(k_bias_names) == "\"last\", \"first\", \"none\"");
    CHECK_THROWS_AS(name_of(k_bias_names, static_cast<BiasMode>(7)), std::logic_error);
}

TEST_CASE("the --acc shorthand and describe() agree through the flag tables") {
    for (const char* spec :
         {"16:wrap", "128x16:sat,32:sat", "64x12:wrap:tree,8x20:sat:tree,40:wrap"}) {
        const nlohmann::json stages = parse_acc_shorthand(spec);
        AccumulatorSpec acc;
        for (const auto& s : stages) {
            StageSpec st;
            st.bits = s["bits"].get<int>();
            if (s.contains("length")) st.length = s["length"].get<int64_t>();
            st.overflow = *value_of(k_overflow_names, s["overflow"].get<std::string>());
            if (s.contains("reduction"))
                st.reduction = *value_of(k_reduction_names, s["reduction"].get<std::string>());
            acc.stages.push_back(st);
        }
        CHECK(acc.describe() == spec);
    }
    // The config's long names are flags too.
    CHECK(parse_acc_shorthand("16:saturate:sequential")[0]["overflow"] == "saturate");
    CHECK(parse_acc_shorthand("16:sat:seq")[0]["reduction"] == "sequential");
}
