// accsim._accsim: the extension under the Python package tools/python/accsim/ (which documents
// the Python API). A thin binding of api/accsim.h: reports cross as JSON text, turned into dicts
// on the Python side; replay's arrays as numpy arrays. The GIL is released while accsim works.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdlib>

#include "api/accsim.h"

namespace py = pybind11;
using namespace accsim;

// libsystemc's own main() needs an sc_main to link against when the library is loaded into
// Python; accsim never lets SystemC call it (its runs start the simulation themselves).
extern "C" __attribute__((visibility("default"))) int sc_main(int, char**) {
    return 1;
}

namespace {

std::string dump(const api::Json& j) {
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

api::ConfigSources sources(std::optional<std::string> config, std::optional<std::string> acc,
                           std::vector<std::string> sets) {
    api::ConfigSources s;
    s.file = std::move(config);
    s.acc = std::move(acc);
    s.sets = std::move(sets);
    return s;
}

api::ReportOptions report_options(const std::string& layers, int threads) {
    api::ReportOptions o;
    o.layers = layers;
    o.threads = threads;
    return o;
}

// A 2-D integer array as the replay reads it: in place when rows are strided whole elements.
api::IntMatrix matrix(const char* name, const py::array& a) {
    api::IntMatrix m;
    const py::dtype dt = a.dtype();
    if (dt.is(py::dtype::of<int8_t>()))
        m.type = api::IntType::i8;
    else if (dt.is(py::dtype::of<uint8_t>()))
        m.type = api::IntType::u8;
    else if (dt.is(py::dtype::of<int16_t>()))
        m.type = api::IntType::i16;
    else if (dt.is(py::dtype::of<uint16_t>()))
        m.type = api::IntType::u16;
    else if (dt.is(py::dtype::of<int32_t>()))
        m.type = api::IntType::i32;
    else
        throw InputError("replay", name,
                         "dtype " + dt.attr("name").cast<std::string>() +
                             " is not one the datapath takes (int8, uint8, int16, uint16, int32)");
    if (a.ndim() != 2)
        throw InputError("replay", name,
                         "expected a 2-D array, got " + std::to_string(a.ndim()) + " dimensions");
    const auto item = static_cast<py::ssize_t>(a.itemsize());
    if (a.strides(1) != item || a.strides(0) % item != 0 || a.strides(0) < 0)
        throw std::logic_error("matrix: not row-major");  // the Python side made it contiguous
    m.data = a.data();
    m.rows = a.shape(0);
    m.cols = a.shape(1);
    m.row_stride = a.shape(0) > 1 ? a.strides(0) / item : a.shape(1);
    return m;
}

// The vector handed to numpy without a copy: the array owns it.
template <typename T>
py::array_t<T> owning_array(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
    auto* owned = new std::vector<T>(std::move(v));
    py::capsule free_it(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>(shape, owned->data(), free_it);
}

template <typename T>
py::array_t<T> array_of(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
    py::array_t<T> out(shape);
    std::copy(v.begin(), v.end(), out.mutable_data());
    return out;
}

py::dict replay(const py::array& x, const py::array& w, const std::string& acc,
                std::optional<py::array_t<int64_t, py::array::c_style | py::array::forcecast>> bias,
                std::optional<int> x_bits, std::optional<bool> x_signed, std::optional<int> w_bits,
                std::optional<bool> w_signed, int threads, const std::string& bias_placement,
                int64_t groups, bool details) {
    api::ReplayRequest r;
    r.groups = groups;
    r.details = details;
    r.x = matrix("x", x);
    r.w = matrix("w", w);
    if (bias) {
        if (bias->ndim() != 1 || bias->shape(0) != r.w.rows)
            throw InputError("replay", "bias",
                             "expected one value per channel (" + std::to_string(r.w.rows) + ")");
        r.bias = bias->data();
    }
    r.acc = acc;
    r.bias_placement = bias_placement;
    r.x_bits = x_bits;
    r.x_signed = x_signed;
    r.w_bits = w_bits;
    r.w_signed = w_signed;
    r.threads = threads;
    api::ReplayResult out;
    {
        py::gil_scoped_release release;
        out = api::replay(r);
    }
    const py::ssize_t rows = out.rows, cols = out.channels, stages = out.stages;
    py::dict d;
    d["values"] = owning_array(std::move(out.values), {rows, cols});
    if (details) {
        py::array_t<bool> corrupted_array({rows, cols});
        std::copy(out.corrupted.begin(), out.corrupted.end(), corrupted_array.mutable_data());
        d["exact"] = owning_array(std::move(out.exact), {rows, cols});
        d["events"] = owning_array(std::move(out.events), {rows, cols, stages});
        d["corrupted"] = corrupted_array;
    }
    d["observed_bits"] = out.observed_bits;
    d["bounds"] = dump(out.bounds);
    d["overflow"] = dump(out.overflow);
    return d;
}

// Float (or integer) operands through float stages: codes arrive as uint32 arrays.
py::dict replay_float(
    py::array_t<uint32_t, py::array::c_style | py::array::forcecast> x,
    py::array_t<uint32_t, py::array::c_style | py::array::forcecast> w, const std::string& x_format,
    const std::string& w_format, const std::string& acc, int64_t block,
    std::optional<py::array_t<float, py::array::c_style | py::array::forcecast>> xs,
    std::optional<py::array_t<float, py::array::c_style | py::array::forcecast>> ws,
    std::optional<py::array_t<uint8_t, py::array::c_style | py::array::forcecast>> xe,
    std::optional<py::array_t<uint8_t, py::array::c_style | py::array::forcecast>> we,
    int threads) {
    api::FloatReplayRequest r;
    r.rows = x.shape(0);
    r.k = x.shape(1);
    r.channels = w.shape(0);
    if (w.shape(1) != r.k)
        throw InputError("replay", "w",
                         "x has K = " + std::to_string(r.k) + " per row but w has " +
                             std::to_string(w.shape(1)));
    r.x.assign(x.data(), x.data() + x.size());
    r.w.assign(w.data(), w.data() + w.size());
    r.x_format = x_format;
    r.w_format = w_format;
    r.acc = acc;
    r.block = block;
    if (xs) r.x_scale.assign(xs->data(), xs->data() + xs->size());
    if (ws) r.w_scale.assign(ws->data(), ws->data() + ws->size());
    if (xe) r.x_scale_e8m0.assign(xe->data(), xe->data() + xe->size());
    if (we) r.w_scale_e8m0.assign(we->data(), we->data() + we->size());
    r.threads = threads;
    api::FloatReplayResult out;
    {
        py::gil_scoped_release release;
        out = api::replay_float(r);
    }
    const py::ssize_t rows = out.rows, cols = out.channels, stages = out.stages;
    py::dict d;
    d["values"] = array_of(out.values, {rows, cols});
    d["exact"] = array_of(out.exact, {rows, cols});
    d["events"] = array_of(out.events, {rows, cols, stages});
    d["float"] = dump(out.floating);
    d["overflow"] = dump(out.overflow);
    return d;
}

}  // namespace

PYBIND11_MODULE(_accsim, m) {
    m.doc() = "accsim's C++ library (see the accsim package for the Python API)";
    // SystemC prints a banner on its first use unless told not to (the CLI does the same).
    setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
    py::register_exception<InputError>(m, "InputError", PyExc_ValueError);

    m.def("version", &api::version);
    m.def("effective_config", [](std::optional<std::string> config, std::optional<std::string> acc,
                                 std::vector<std::string> sets) {
        return dump(api::effective_config(sources(config, acc, sets)));
    });
    m.def("inspect", [](const std::string& trace, const std::string& layers) {
        py::gil_scoped_release release;
        return api::inspect(trace, layers);
    });
    m.def("parse_acc_grid", &api::parse_acc_grid);

    py::class_<api::Session>(m, "Session")
        .def(py::init([](const std::string& trace, std::optional<std::string> config,
                         std::optional<std::string> acc, std::vector<std::string> sets) {
                 py::gil_scoped_release release;
                 return std::make_unique<api::Session>(trace, sources(config, acc, sets));
             }),
             py::arg("trace"), py::arg("config"), py::arg("acc"), py::arg("sets"))
        .def("config", [](const api::Session& s) { return dump(s.config()); })
        .def("audit",
             [](const api::Session& s, const std::string& layers, int threads,
                const std::string& dump_outputs) {
                 api::ReportOptions o = report_options(layers, threads);
                 o.dump_outputs = dump_outputs;
                 py::gil_scoped_release release;
                 return dump(s.audit(o));
             })
        .def("run",
             [](const api::Session& s, const std::string& layers, int threads, bool cycle,
                const std::string& vcd) {
                 api::SimRunOptions sim;
                 sim.cycle_mode = cycle;
                 sim.vcd = vcd;
                 py::gil_scoped_release release;
                 return dump(s.run(report_options(layers, threads), sim));
             })
        .def("run_timing",
             [](const api::Session& s, const std::string& layers, int threads) {
                 py::gil_scoped_release release;
                 return dump(s.run_timing(report_options(layers, threads)));
             })
        .def("sweep", [](const api::Session& s, std::vector<std::string> grid,
                         std::vector<std::string> acc_grid, const std::string& out, bool resume,
                         bool derive, const std::string& layers, int threads,
                         std::optional<py::function> progress, std::optional<py::function> point,
                         int shard_k, int shard_n) {
            api::SweepRequest r;
            r.shard_k = shard_k;
            r.shard_n = shard_n;
            r.grid = std::move(grid);
            r.acc_grid = std::move(acc_grid);
            r.out = out;
            r.resume = resume;
            r.derive = derive;
            api::SweepHooks hooks;
            // Hooks run on accsim's threads: each takes the GIL for the Python call. They
            // hold pointers to the functions (alive here, with the GIL, until the end), so
            // that copying a hook without the GIL touches no Python reference count.
            if (progress)
                hooks.progress = [f = &*progress](int64_t done, int64_t total) {
                    py::gil_scoped_acquire gil;
                    (*f)(done, total);
                };
            if (point)
                hooks.point = [f = &*point](std::size_t index, const api::Json& record) {
                    const std::string text = dump(record);
                    py::gil_scoped_acquire gil;
                    (*f)(index, text);
                };
            api::SweepResult result;
            {
                py::gil_scoped_release release;
                result = s.sweep(r, report_options(layers, threads), hooks);
            }
            return py::make_tuple(dump(result.sweep), result.resumed, result.computed);
        });

    m.def("sweep_merge", [](const std::string& out, const std::vector<std::string>& dirs) {
        py::gil_scoped_release release;
        return dump(api::merge_sweep_shards(out, dirs));
    });

    m.def("run_topology",
          [](const std::string& csv, bool gemm, std::optional<std::string> config,
             std::vector<std::string> sets, const std::string& layers, int threads) {
              py::gil_scoped_release release;
              return dump(api::run_topology(csv, gemm, sources(config, std::nullopt, sets),
                                            report_options(layers, threads)));
          });

    m.def("replay", &replay, py::arg("x"), py::arg("w"), py::arg("acc"), py::arg("bias"),
          py::arg("x_bits"), py::arg("x_signed"), py::arg("w_bits"), py::arg("w_signed"),
          py::arg("threads"), py::arg("bias_placement"), py::arg("groups") = 1,
          py::arg("details") = true);
    m.def("replay_float", &replay_float, py::arg("x"), py::arg("w"), py::arg("x_format"),
          py::arg("w_format"), py::arg("acc"), py::arg("block"), py::arg("x_scale"),
          py::arg("w_scale"), py::arg("x_scale_e8m0"), py::arg("w_scale_e8m0"), py::arg("threads"));
}
