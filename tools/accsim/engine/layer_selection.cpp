#include "engine/layer_selection.h"

#include <regex>

#include "datapath/input_error.h"

namespace accsim {

namespace {

std::regex layer_regex(const std::string& pattern) {
    try {
        return std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        throw InputError("command line", "--layers",
                         "invalid regular expression \"" + pattern + "\": " + e.what());
    }
}

}  // namespace

std::vector<const LayerSpec*> select_layers(const Trace& t, const std::string& pattern) {
    std::vector<const LayerSpec*> out;
    if (pattern.empty()) {
        for (const LayerSpec& l : t.layers()) out.push_back(&l);
        return out;
    }
    const std::regex re = layer_regex(pattern);
    for (const LayerSpec& l : t.layers())
        if (std::regex_search(l.name, re)) out.push_back(&l);
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
    const std::regex re = layer_regex(pattern);
    for (const LayerWork& w : layers)
        if (std::regex_search(w.name, re)) chosen.push_back(w);
    if (chosen.empty())
        throw InputError("command line", "--layers",
                         "\"" + pattern + "\" matches no layer of the topology");
    return chosen;
}

}  // namespace accsim
