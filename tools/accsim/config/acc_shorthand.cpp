#include "config/acc_shorthand.h"

#include <cctype>
#include <functional>
#include <vector>

#include "datapath/accumulator_spec.h"
#include "datapath/float_format.h"
#include "datapath/float_step.h"
#include "datapath/input_error.h"
#include "datapath/overflow.h"

namespace accsim {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out(1);
    for (char c : s) {
        if (c == sep)
            out.emplace_back();
        else
            out.back() += c;
    }
    return out;
}

// A positive decimal integer of at most 18 digits, or -1.
int64_t parse_count(const std::string& s) {
    if (s.empty() || s.size() > 18) return -1;
    int64_t v = 0;
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

// "eXmY" -> (X, Y), or false.
bool parse_float_register(const std::string& s, int64_t& x, int64_t& y) {
    if (s.size() < 4 || s[0] != 'e') return false;
    const auto m = s.find('m');
    if (m == std::string::npos) return false;
    x = parse_count(s.substr(1, m - 1));
    y = parse_count(s.substr(m + 1));
    return x >= 0 && y >= 0;
}

// A float stage's flags: :gG, :fF, :rz, :rne.
void parse_float_flags(const std::vector<std::string>& parts, nlohmann::json& s,
                       const std::function<void(const std::string&)>& fail) {
    for (std::size_t p = 1; p < parts.size(); ++p) {
        const std::string& f = parts[p];
        if (auto r = value_of(k_rounding_names, f)) {
            s["rounding"] = to_string(*r);
        } else if (f.size() > 1 && (f[0] == 'g' || f[0] == 'f')) {
            const int64_t v = parse_count(f.substr(1));
            if (v < 0) fail("\":" + f + "\" needs a number after " + f[0]);
            if (f[0] == 'g') {
                if (v < 1 || v > k_max_float_group)
                    fail("group :g must be in [1, " + std::to_string(k_max_float_group) + "]");
                s["group"] = v;
            } else {
                if (v > k_max_fraction_bits)
                    fail("fraction bits :f must be in [0, " + std::to_string(k_max_fraction_bits) +
                         "]");
                s["fraction_bits"] = v;
            }
        } else {
            fail("unknown flag \":" + f + "\" for a float stage (valid: gG, fF, rz, rne)");
        }
    }
}

}  // namespace

nlohmann::json parse_acc_shorthand(const std::string& spec) {
    const std::string form =
        "expected stages like 16, 128x16 or 128x16,32:sat ([LENGTHx]BITS[:wrap|:sat][:tree])";
    if (spec.empty()) throw InputError("--acc", "\"\"", "empty; " + form);
    const std::vector<std::string> stages = split(spec, ',');
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t j = 0; j < stages.size(); ++j) {
        const std::string& st = stages[j];
        const std::string where = "stage " + std::to_string(j + 1) + " \"" + st + "\"";
        auto fail = [&](const std::string& what) {
            throw InputError("--acc", spec, where + ": " + what);
        };
        const std::vector<std::string> parts = split(st, ':');
        std::string size = parts[0];
        nlohmann::json s = nlohmann::json::object();
        const auto x = size.find('x');
        const bool has_length = x != std::string::npos && size.find_first_not_of("0123456789") == x;
        if (x != std::string::npos && !has_length) fail(form);
        if (has_length) {
            const int64_t len = parse_count(size.substr(0, x));
            if (len <= 0) fail("tile length must be a positive integer; " + form);
            s["length"] = len;
            size = size.substr(x + 1);
        }
        int64_t ex = 0, man = 0;
        if (parse_float_register(size, ex, man)) {
            if (ex < k_min_float_exponent_bits || ex > k_max_float_exponent_bits)
                fail("exponent bits must be in [2, 11], got " + std::to_string(ex));
            if (man < k_min_float_mantissa_bits || man > k_max_float_mantissa_bits)
                fail("mantissa bits must be in [1, 52], got " + std::to_string(man));
            s["kind"] = "float";
            s["exponent_bits"] = ex;
            s["mantissa_bits"] = man;
            parse_float_flags(parts, s, fail);
            const bool last = j + 1 == stages.size();
            if (last && s.contains("length"))
                fail(
                    "the last stage takes no tile length (its one tile covers the whole dot "
                    "product)");
            if (!last && !s.contains("length"))
                fail("every stage but the last needs a tile length, e.g. 128x" + size);
            if (!out.empty() && out.back().value("kind", "int") == "float")
                ;  // float after float: fine
            out.push_back(s);
            continue;
        }
        if (!out.empty() && out.back().value("kind", "int") == "float")
            fail(
                "an integer stage cannot follow a float stage (integer tiles may feed float "
                "stages, not the reverse)");
        const int64_t bits = parse_count(size);
        if (bits < 0) fail(form);
        if (bits < k_min_acc_bits || bits > k_max_acc_bits)
            fail("bits must be in [2, 64], got " + std::to_string(bits));
        s["bits"] = bits;
        s["overflow"] = to_string(OverflowMode::wrap);
        // Flags: the shorthand's own (sat, seq) or the config's names (saturate, sequential).
        for (std::size_t p = 1; p < parts.size(); ++p) {
            const std::string& f = parts[p];
            auto o = value_of(k_overflow_flags, f);
            if (!o) o = value_of(k_overflow_names, f);
            auto r = value_of(k_reduction_flags, f);
            if (!r) r = value_of(k_reduction_names, f);
            if (o)
                s["overflow"] = to_string(*o);
            else if (r)
                s["reduction"] = to_string(*r);
            else
                fail("unknown flag \":" + f + "\" (valid: wrap, sat, tree, seq)");
        }
        const bool last = j + 1 == stages.size();
        if (last && s.contains("length"))
            fail("the last stage takes no tile length (its one tile covers the whole dot product)");
        if (!last && !s.contains("length"))
            fail("every stage but the last needs a tile length, e.g. 128x" + std::to_string(bits));
        out.push_back(s);
    }
    return out;
}

}  // namespace accsim
