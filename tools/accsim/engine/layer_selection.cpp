#include "engine/layer_selection.h"

#include <boost/regex.hpp>

#include "datapath/input_error.h"

namespace accsim {

namespace {

// Boost.Regex, not std::regex: libstdc++'s engine recurses once per pattern element and per
// character matched, so a long or deeply nested pattern overflows the stack; Boost's matcher
// keeps its state on the heap and gives up on runaway patterns with an exception. The length
// limit keeps compiling cheap too (layer names are at most 1024 characters).
constexpr std::size_t k_max_pattern = 1000;

// What is wrong with a pattern, in our words (the engine's own texts vary between versions).
std::string problem(const boost::regex_error& e) {
    namespace rc = boost::regex_constants;
    switch (e.code()) {
        case rc::error_brack:
            return "a [ without its ]";
        case rc::error_paren:
            return "unbalanced ( and )";
        case rc::error_brace:
        case rc::error_badbrace:
            return "a malformed {n,m} repeat";
        case rc::error_range:
            return "a character range whose end comes before its start";
        case rc::error_escape:
            return "a \\ at the end, or an unknown escape";
        case rc::error_badrepeat:
            return "a repeat (*, +, ? or {n}) with nothing to repeat";
        case rc::error_backref:
            return "a back-reference to a group that does not exist";
        case rc::error_ctype:
        case rc::error_collate:
            return "an unknown character class or collating element";
        case rc::error_complexity:
        case rc::error_stack:
        case rc::error_space:
            return "too complex";
        default:
            return "not a valid ECMAScript pattern";
    }
}

boost::regex layer_regex(const std::string& pattern) {
    if (pattern.size() > k_max_pattern)
        throw InputError("command line", "--layers",
                         "the pattern has " + std::to_string(pattern.size()) +
                             " characters (at most " + std::to_string(k_max_pattern) + ")");
    try {
        return boost::regex(pattern, boost::regex::ECMAScript);
    } catch (const boost::regex_error& e) {
        throw InputError("command line", "--layers",
                         "invalid regular expression \"" + pattern + "\": " + problem(e) +
                             " (at character " + std::to_string(e.position() + 1) + ")");
    } catch (const std::exception&) {
        throw InputError("command line", "--layers",
                         "invalid regular expression \"" + pattern + "\": too complex");
    }
}

bool matches(const std::string& name, const boost::regex& re, const std::string& pattern) {
    try {
        return boost::regex_search(name, re);
    } catch (const std::exception&) {  // the matcher's complexity limit
        throw InputError("command line", "--layers",
                         "\"" + pattern + "\" is too complex to match against \"" + name + "\"");
    }
}

}  // namespace

std::vector<const LayerSpec*> select_layers(const Trace& t, const std::string& pattern) {
    std::vector<const LayerSpec*> out;
    if (pattern.empty()) {
        for (const LayerSpec& l : t.layers()) out.push_back(&l);
        return out;
    }
    const boost::regex re = layer_regex(pattern);
    for (const LayerSpec& l : t.layers())
        if (matches(l.name, re, pattern)) out.push_back(&l);
    if (out.empty()) {
        std::string names;
        for (const LayerSpec& l : t.layers()) names += (names.empty() ? "" : ", ") + l.name;
        if (names.size() > 200) names = names.substr(0, 197) + "...";
        throw InputError("command line", "--layers",
                         "\"" + pattern + "\" matches no layer (layers: " + names + ")");
    }
    return out;
}

std::vector<LayerWork> select_layers(const std::vector<LayerWork>& layers,
                                     const std::string& pattern) {
    if (pattern.empty()) return layers;
    std::vector<LayerWork> chosen;
    const boost::regex re = layer_regex(pattern);
    for (const LayerWork& w : layers)
        if (matches(w.name, re, pattern)) chosen.push_back(w);
    if (chosen.empty())
        throw InputError("command line", "--layers",
                         "\"" + pattern + "\" matches no layer of the topology");
    return chosen;
}

}  // namespace accsim
