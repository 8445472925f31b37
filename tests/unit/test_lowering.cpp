// LoweredLayer against direct computation. Each case writes a one-layer trace with
// write_trace, loads it with Trace::load, lowers it in both k orders, replays every dot
// product sum(q[i] * x[i]) and compares it, placed by output_index(), with a direct
// nested-loop linear / conv2d / matmul written here from FORMAT.md's definitions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "traces/lowering.h"
#include "traces/trace.h"
#include "traces/trace_writer.h"

using namespace accsim;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

constexpr KOrder k_orders[] = {KOrder::c_kh_kw, KOrder::kh_kw_c};

// A fresh, empty directory under the build tree's scratch space.
std::string scratch_dir(const std::string& name) {
    const fs::path p = fs::path(ACCSIM_TEST_TMP) / "lowering" / name;
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

// An operand's declared width and signedness, and the narrowest dtype that holds it.
struct Format {
    int bits = 8;
    bool is_signed = true;
    int64_t min() const { return is_signed ? -(int64_t{1} << (bits - 1)) : 0; }
    int64_t max() const {
        return is_signed ? (int64_t{1} << (bits - 1)) - 1 : (int64_t{1} << bits) - 1;
    }
    DType dtype() const {
        if (bits <= 8) return is_signed ? DType::I8 : DType::U8;
        return is_signed ? DType::I16 : DType::U16;
    }
};

int64_t product(const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t e : shape) n *= e;
    return n;
}

// n codes drawn uniformly from the format's range, with both ends of the range present.
std::vector<int64_t> random_codes(std::mt19937_64& rng, int64_t n, Format f) {
    std::uniform_int_distribution<int64_t> dist(f.min(), f.max());
    std::vector<int64_t> v(static_cast<std::size_t>(n));
    for (auto& e : v) e = dist(rng);
    if (n >= 2) v.front() = f.min(), v.back() = f.max();
    return v;
}

json operand(const std::string& tensor, Format f, int64_t zero_point = 0) {
    return {
        {"tensor", tensor}, {"bits", f.bits}, {"signed", f.is_signed}, {"zero_point", zero_point}};
}

// Writes a one-layer trace into its own scratch directory and loads it.
Trace write_and_load(const std::string& name, const json& layer,
                     const std::vector<TensorBlob>& blobs) {
    const std::string dir = scratch_dir(name);
    const json manifest = {{"format", "accsim-trace"},
                           {"version", 1},
                           {"model", "lowering-" + name},
                           {"tensors", "tensors.safetensors"},
                           {"layers", json::array({layer})}};
    write_trace(dir, manifest, blobs);
    return Trace::load(dir);
}

// Counts disagreements and keeps the first one, so a failing case reports one readable line
// instead of thousands.
struct Mismatches {
    int64_t count = 0;
    std::string first;
    void add(const std::string& what) {
        if (count++ == 0) first = what;
    }
};

// Replays every dot product of the lowered layer and compares it with `expected` (the direct
// result, flat in the output tensor's C order). Every output must be produced exactly once,
// and channel() must name the channel `channel_of` gives for its flat index.
void check_dot_products(const LoweredLayer& low, const std::vector<int64_t>& expected,
                        const std::function<int64_t(int64_t)>& channel_of) {
    const int64_t n = static_cast<int64_t>(expected.size());
    REQUIRE(low.positions() * low.per_position() == n);
    REQUIRE(low.layer().shape.outputs == n);
    std::vector<int32_t> x(static_cast<std::size_t>(low.k())),
        scratch(static_cast<std::size_t>(low.k()));
    std::vector<int> seen(static_cast<std::size_t>(n), 0);
    Mismatches bad;
    for (int64_t pos = 0; pos < low.positions(); ++pos) {
        low.gather_x(pos, x.data());
        for (int64_t j = 0; j < low.per_position(); ++j) {
            const int32_t* q = low.q(pos, j, scratch.data());
            int64_t sum = 0;
            for (int64_t i = 0; i < low.k(); ++i) sum += int64_t{q[i]} * x[i];
            const int64_t idx = low.output_index(pos, j);
            const std::string at = "pos " + std::to_string(pos) + " j " + std::to_string(j) +
                                   " -> output " + std::to_string(idx);
            if (idx < 0 || idx >= n) {
                bad.add(at + ": index out of range");
                continue;
            }
            ++seen[idx];
            if (sum != expected[idx])
                bad.add(at + ": dot product " + std::to_string(sum) + ", direct " +
                        std::to_string(expected[idx]));
            if (low.channel(pos, j) != channel_of(idx))
                bad.add(at + ": channel " + std::to_string(low.channel(pos, j)) + ", expected " +
                        std::to_string(channel_of(idx)));
        }
    }
    const auto missing = std::count_if(seen.begin(), seen.end(), [](int s) { return s != 1; });
    INFO("first mismatch: " << bad.first);
    CHECK(bad.count == 0);
    CHECK(missing == 0);  // every output exactly once
}

// ---------------------------------------------------------------------------------- conv2d

struct ConvCase {
    int64_t batch = 1, c_in = 1, height = 1, width = 1, c_out = 1, kernel_h = 1, kernel_w = 1;
    int64_t stride_h = 1, stride_w = 1;
    int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
    int64_t dilation_h = 1, dilation_w = 1;
    int64_t groups = 1;
    Format input{8, false}, weight{8, true};
    int64_t zero_point = 0;
    // Spell stride, padding and dilation in the shortest form FORMAT.md allows (one integer,
    // [h, w] padding) and leave groups 1 out, instead of always [h, w] and [t, l, b, r].
    bool compact = false;

    int64_t cg() const { return c_in / groups; }
    int64_t k() const { return cg() * kernel_h * kernel_w; }
    int64_t out_h() const {
        return (height + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
    }
    int64_t out_w() const {
        return (width + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
    }
    std::vector<int64_t> input_shape() const { return {batch, c_in, height, width}; }
    std::vector<int64_t> weight_shape() const { return {c_out, cg(), kernel_h, kernel_w}; }

    json params() const {
        json p = json::object();
        auto pair = [&](int64_t h, int64_t w) { return compact && h == w ? json(h) : json{h, w}; };
        p["stride"] = pair(stride_h, stride_w);
        p["dilation"] = pair(dilation_h, dilation_w);
        if (compact && pad_top == pad_bottom && pad_left == pad_right)
            p["padding"] = pair(pad_top, pad_left);
        else
            p["padding"] = {pad_top, pad_left, pad_bottom, pad_right};
        if (!compact || groups != 1) p["groups"] = groups;
        return p;
    }

    std::string describe() const {
        return "B" + std::to_string(batch) + " C_in " + std::to_string(c_in) + " " +
               std::to_string(height) + "x" + std::to_string(width) + ", C_out " +
               std::to_string(c_out) + " kernel " + std::to_string(kernel_h) + "x" +
               std::to_string(kernel_w) + ", conv2d " + params().dump() + ", zero_point " +
               std::to_string(zero_point);
    }
};

// The input at (b, c, ih, iw), or the zero point where that lies in the padding.
int64_t padded_input(const ConvCase& cc, const std::vector<int64_t>& x, int64_t b, int64_t c,
                     int64_t ih, int64_t iw) {
    const bool inside = ih >= 0 && ih < cc.height && iw >= 0 && iw < cc.width;
    return inside ? x[((b * cc.c_in + c) * cc.height + ih) * cc.width + iw] : cc.zero_point;
}

// output[b][co][oh][ow] = sum over ci in co's group, kh, kw of w[co][ci][kh][kw] * padded x.
std::vector<int64_t> direct_conv2d(const ConvCase& cc, const std::vector<int64_t>& x,
                                   const std::vector<int64_t>& w) {
    const int64_t oh_n = cc.out_h(), ow_n = cc.out_w(), per_group = cc.c_out / cc.groups;
    std::vector<int64_t> y;
    for (int64_t b = 0; b < cc.batch; ++b)
        for (int64_t co = 0; co < cc.c_out; ++co)
            for (int64_t oh = 0; oh < oh_n; ++oh)
                for (int64_t ow = 0; ow < ow_n; ++ow) {
                    const int64_t g = co / per_group;
                    int64_t acc = 0;
                    for (int64_t ci = 0; ci < cc.cg(); ++ci)
                        for (int64_t kh = 0; kh < cc.kernel_h; ++kh)
                            for (int64_t kw = 0; kw < cc.kernel_w; ++kw) {
                                const int64_t ih =
                                    oh * cc.stride_h - cc.pad_top + kh * cc.dilation_h;
                                const int64_t iw =
                                    ow * cc.stride_w - cc.pad_left + kw * cc.dilation_w;
                                acc +=
                                    w[((co * cc.cg() + ci) * cc.kernel_h + kh) * cc.kernel_w + kw] *
                                    padded_input(cc, x, b, g * cc.cg() + ci, ih, iw);
                            }
                    y.push_back(acc);
                }
    return y;
}

// The index in a group's dot product of tap (c, kh, kw), in each k order.
int64_t k_index(const ConvCase& cc, KOrder order, int64_t c, int64_t kh, int64_t kw) {
    return order == KOrder::kh_kw_c ? (kh * cc.kernel_w + kw) * cc.cg() + c
                                    : (c * cc.kernel_h + kh) * cc.kernel_w + kw;
}

// Element by element: gather_x's x[k(c, kh, kw)] is the padded input under kernel tap (kh, kw)
// of channel c of the position's group, and weights(co)[k(c, kh, kw)] is w[co][c][kh][kw]. In
// c_kh_kw order the weight rows are exactly PyTorch's weight.flatten(1).
void check_conv_elements(const ConvCase& cc, const LoweredLayer& low, KOrder order,
                         const std::vector<int64_t>& x, const std::vector<int64_t>& w) {
    const int64_t oh_n = cc.out_h(), ow_n = cc.out_w(), per_group = cc.c_out / cc.groups;
    std::vector<int32_t> got(static_cast<std::size_t>(low.k()));
    Mismatches bad;
    for (int64_t pos = 0; pos < low.positions(); ++pos) {
        // The position's batch, group and pixel, from where its first output lands.
        const int64_t idx = low.output_index(pos, 0);
        const int64_t ow = idx % ow_n, oh = idx / ow_n % oh_n, co = idx / (ow_n * oh_n) % cc.c_out;
        const int64_t b = idx / (ow_n * oh_n * cc.c_out), g = co / per_group;
        low.gather_x(pos, got.data());
        for (int64_t c = 0; c < cc.cg(); ++c)
            for (int64_t kh = 0; kh < cc.kernel_h; ++kh)
                for (int64_t kw = 0; kw < cc.kernel_w; ++kw) {
                    const int64_t want =
                        padded_input(cc, x, b, g * cc.cg() + c,
                                     oh * cc.stride_h - cc.pad_top + kh * cc.dilation_h,
                                     ow * cc.stride_w - cc.pad_left + kw * cc.dilation_w);
                    const int64_t k = k_index(cc, order, c, kh, kw);
                    if (got[k] != want)
                        bad.add("pos " + std::to_string(pos) + " x[" + std::to_string(k) + "] (c " +
                                std::to_string(c) + ", kh " + std::to_string(kh) + ", kw " +
                                std::to_string(kw) + ") = " + std::to_string(got[k]) +
                                ", padded input " + std::to_string(want));
                }
    }
    for (int64_t co = 0; co < cc.c_out; ++co)
        for (int64_t c = 0; c < cc.cg(); ++c)
            for (int64_t kh = 0; kh < cc.kernel_h; ++kh)
                for (int64_t kw = 0; kw < cc.kernel_w; ++kw) {
                    const int64_t k = k_index(cc, order, c, kh, kw);
                    const int64_t want =
                        w[((co * cc.cg() + c) * cc.kernel_h + kh) * cc.kernel_w + kw];
                    if (low.weights(co)[k] != want)
                        bad.add("weights(" + std::to_string(co) + ")[" + std::to_string(k) +
                                "] = " + std::to_string(low.weights(co)[k]) +
                                ", w[co][c][kh][kw] " + std::to_string(want));
                }
    INFO("first mismatch: " << bad.first);
    CHECK(bad.count == 0);
    if (order == KOrder::c_kh_kw) {
        const std::vector<int64_t> rows(low.weights(0), low.weights(0) + cc.c_out * cc.k());
        CHECK(rows == w);  // weight.flatten(1), row after row
    }
}

// Writes the case as a trace, then checks its lowering in both k orders.
void check_conv(const std::string& name, const ConvCase& cc, std::mt19937_64& rng) {
    INFO("conv case " << name << ": " << cc.describe());
    const std::vector<int64_t> x = random_codes(rng, product(cc.input_shape()), cc.input);
    const std::vector<int64_t> w = random_codes(rng, product(cc.weight_shape()), cc.weight);
    const json layer = {{"name", name},
                        {"op", "conv2d"},
                        {"input", operand("x", cc.input, cc.zero_point)},
                        {"weight", operand("w", cc.weight)},
                        {"conv2d", cc.params()}};
    const Trace trace =
        write_and_load(name, layer,
                       {make_int_blob("x", cc.input.dtype(), cc.input_shape(), x),
                        make_int_blob("w", cc.weight.dtype(), cc.weight_shape(), w)});
    const LayerSpec& spec = trace.layers().at(0);
    CHECK(spec.shape.out_h == cc.out_h());
    CHECK(spec.shape.out_w == cc.out_w());
    CHECK(spec.shape.k == cc.k());
    const std::vector<int64_t> expected = direct_conv2d(cc, x, w);
    const int64_t plane = cc.out_h() * cc.out_w();
    for (KOrder order : k_orders) {
        INFO("k_order " << to_string(order));
        const LoweredLayer low(spec, order);
        CHECK(low.k() == cc.k());
        CHECK(low.per_position() == cc.c_out / cc.groups);
        check_dot_products(low, expected, [&](int64_t idx) { return idx / plane % cc.c_out; });
        check_conv_elements(cc, low, order, x, w);
    }
}

ConvCase square_conv(int64_t c_in, int64_t size, int64_t c_out, int64_t kernel) {
    ConvCase cc;
    cc.c_in = c_in, cc.height = cc.width = size, cc.c_out = c_out,
    cc.kernel_h = cc.kernel_w = kernel;
    return cc;
}

// ------------------------------------------------------------------------- linear, matmul

void check_linear(const std::string& name, const std::vector<int64_t>& input_shape, int64_t out,
                  std::mt19937_64& rng) {
    const Format fx{8, false}, fw{5, true};
    const int64_t in = input_shape.back();
    const int64_t rows = product(input_shape) / in;
    const std::vector<int64_t> x = random_codes(rng, product(input_shape), fx);
    const std::vector<int64_t> w = random_codes(rng, out * in, fw);
    const json layer = {{"name", name},
                        {"op", "linear"},
                        {"input", operand("x", fx)},
                        {"weight", operand("w", fw)}};
    const Trace trace = write_and_load(name, layer,
                                       {make_int_blob("x", fx.dtype(), input_shape, x),
                                        make_int_blob("w", fw.dtype(), {out, in}, w)});
    std::vector<int64_t> expected;  // [rows..., out]: y[r][o] = sum_i x[r][i] * w[o][i]
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out; ++o) {
            int64_t acc = 0;
            for (int64_t i = 0; i < in; ++i) acc += x[r * in + i] * w[o * in + i];
            expected.push_back(acc);
        }
    std::vector<int64_t> output_shape(input_shape.begin(), input_shape.end() - 1);
    output_shape.push_back(out);
    CHECK(trace.layers().at(0).shape.output_shape == output_shape);
    for (KOrder order : k_orders) {
        INFO("k_order " << to_string(order));
        const LoweredLayer low(trace.layers().at(0), order);
        CHECK(low.k() == in);
        check_dot_products(low, expected, [&](int64_t idx) { return idx % out; });
    }
}

// The broadcast batch shape of two batch shapes (numpy rules; the test's shapes broadcast).
std::vector<int64_t> broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    const std::size_t n = std::max(a.size(), b.size());
    std::vector<int64_t> out(n, 1);
    for (std::size_t d = 0; d < n; ++d) {
        const int64_t ea = d + a.size() >= n ? a[d + a.size() - n] : 1;
        const int64_t eb = d + b.size() >= n ? b[d + b.size() - n] : 1;
        out[d] = std::max(ea, eb);
    }
    return out;
}

// The flat batch index into an operand of batch shape `own` for the broadcast batch
// coordinates `coord`: dimensions right-aligned, size-1 dimensions repeat.
int64_t operand_batch(const std::vector<int64_t>& own, const std::vector<int64_t>& coord) {
    int64_t idx = 0;
    const std::size_t lead = coord.size() - own.size();
    for (std::size_t d = 0; d < own.size(); ++d)
        idx = idx * own[d] + (own[d] == 1 ? 0 : coord[lead + d]);
    return idx;
}

void check_matmul(const std::string& name, const std::vector<int64_t>& lhs_shape,
                  const std::vector<int64_t>& rhs_shape, std::mt19937_64& rng) {
    INFO("matmul " << name);
    const Format fa{8, true}, fb{6, false};
    const int64_t m_n = lhs_shape[lhs_shape.size() - 2], k_n = lhs_shape.back(),
                  n_n = rhs_shape.back();
    const std::vector<int64_t> a_batch(lhs_shape.begin(), lhs_shape.end() - 2);
    const std::vector<int64_t> b_batch(rhs_shape.begin(), rhs_shape.end() - 2);
    const std::vector<int64_t> out_batch = broadcast(a_batch, b_batch);
    const std::vector<int64_t> a = random_codes(rng, product(lhs_shape), fa);
    const std::vector<int64_t> b = random_codes(rng, product(rhs_shape), fb);
    const json layer = {
        {"name", name}, {"op", "matmul"}, {"lhs", operand("a", fa)}, {"rhs", operand("b", fb)}};
    const Trace trace = write_and_load(name, layer,
                                       {make_int_blob("a", fa.dtype(), lhs_shape, a),
                                        make_int_blob("b", fb.dtype(), rhs_shape, b)});
    std::vector<int64_t> expected;  // [batch..., M, N]
    std::vector<int64_t> coord(out_batch.size(), 0);
    for (int64_t flat = 0; flat < product(out_batch); ++flat) {
        int64_t rem = flat;
        for (std::size_t d = out_batch.size(); d-- > 0;) {
            coord[d] = rem % out_batch[d];
            rem /= out_batch[d];
        }
        const int64_t ab = operand_batch(a_batch, coord), bb = operand_batch(b_batch, coord);
        for (int64_t m = 0; m < m_n; ++m)
            for (int64_t n = 0; n < n_n; ++n) {
                int64_t acc = 0;
                for (int64_t k = 0; k < k_n; ++k)
                    acc += a[(ab * m_n + m) * k_n + k] * b[(bb * k_n + k) * n_n + n];
                expected.push_back(acc);
            }
    }
    std::vector<int64_t> output_shape = out_batch;
    output_shape.push_back(m_n);
    output_shape.push_back(n_n);
    CHECK(trace.layers().at(0).shape.output_shape == output_shape);
    for (KOrder order : k_orders) {
        INFO("k_order " << to_string(order));
        const LoweredLayer low(trace.layers().at(0), order);
        CHECK(low.k() == k_n);
        check_dot_products(low, expected, [&](int64_t idx) { return idx % n_n; });
    }
}

}  // namespace

// ---------------------------------------------------------------------------------- conv2d

TEST_CASE(
    "a hand-computed 2x2 box filter over the image 1..9 gives 12 16 24 28, and 1 3 5 3 ... with "
    "padding 1") {
    ConvCase cc = square_conv(1, 3, 1, 2);
    const std::vector<int64_t> x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {1, 1, 1, 1};
    CHECK(direct_conv2d(cc, x, w) == std::vector<int64_t>{12, 16, 24, 28});
    cc.pad_top = cc.pad_left = cc.pad_bottom = cc.pad_right = 1;  // zero point 0 around the image
    CHECK(direct_conv2d(cc, x, w) ==
          std::vector<int64_t>{1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9});

    const json layer = {{"name", "box"},
                        {"op", "conv2d"},
                        {"input", operand("x", Format{8, false})},
                        {"weight", operand("w", Format{2, true})},
                        {"conv2d", {{"padding", 1}}}};
    const Trace trace = write_and_load("box", layer,
                                       {make_int_blob("x", DType::U8, {1, 1, 3, 3}, x),
                                        make_int_blob("w", DType::I8, {1, 1, 2, 2}, w)});
    for (KOrder order : k_orders) {
        const LoweredLayer low(trace.layers().at(0), order);
        check_dot_products(low, direct_conv2d(cc, x, w), [](int64_t) { return 0; });
    }
}

TEST_CASE("a 3x3 conv with dilation 2 and padding [1,0,2,1] equals the direct convolution") {
    std::mt19937_64 rng(101);
    ConvCase cc = square_conv(2, 0, 3, 3);
    cc.height = 7, cc.width = 6;
    cc.dilation_h = cc.dilation_w = 2;
    cc.pad_top = 1, cc.pad_left = 0, cc.pad_bottom = 2, cc.pad_right = 1;
    check_conv("dil2_pad1021", cc, rng);
}

TEST_CASE(
    "conv2d with strides 1, 2 and 3, and unequal strides [1,2], [3,1], equals the direct "
    "convolution") {
    std::mt19937_64 rng(102);
    const std::pair<int64_t, int64_t> strides[] = {{1, 1}, {2, 2}, {3, 3}, {1, 2}, {3, 1}};
    for (auto [sh, sw] : strides) {
        ConvCase cc = square_conv(3, 0, 4, 3);
        cc.height = 10, cc.width = 11;
        cc.stride_h = sh, cc.stride_w = sw;
        cc.pad_top = cc.pad_bottom = cc.pad_left = cc.pad_right = 1;
        check_conv("stride" + std::to_string(sh) + "x" + std::to_string(sw), cc, rng);
    }
}

TEST_CASE(
    "conv2d padding as one integer, [h, w] and asymmetric [t, l, b, r] equals the direct "
    "convolution") {
    std::mt19937_64 rng(103);
    ConvCase one = square_conv(2, 5, 2, 3);
    one.pad_top = one.pad_left = one.pad_bottom = one.pad_right = 2;
    one.compact = true;  // "padding": 2
    check_conv("pad_int", one, rng);

    ConvCase hw = square_conv(2, 5, 2, 3);
    hw.pad_top = hw.pad_bottom = 2, hw.pad_left = hw.pad_right = 0;
    hw.compact = true;  // "padding": [2, 0]
    CHECK(hw.params()["padding"] == json{2, 0});
    check_conv("pad_hw", hw, rng);

    ConvCase tlbr = square_conv(2, 5, 2, 3);
    tlbr.pad_top = 0, tlbr.pad_left = 2, tlbr.pad_bottom = 1, tlbr.pad_right = 3;
    check_conv("pad_tlbr", tlbr, rng);
}

TEST_CASE(
    "padding larger than the kernel: outputs wholly in the padding are the zero point times the "
    "kernel sum") {
    std::mt19937_64 rng(104);
    ConvCase cc = square_conv(2, 0, 3, 2);
    cc.height = 3, cc.width = 2;
    cc.pad_top = 3, cc.pad_left = 4, cc.pad_bottom = 5, cc.pad_right = 3;
    cc.zero_point = 7;
    check_conv("pad_gt_kernel", cc, rng);

    // The reference itself: in the top-left output every tap lies in the padding.
    const std::vector<int64_t> x = random_codes(rng, product(cc.input_shape()), cc.input);
    const std::vector<int64_t> w = random_codes(rng, product(cc.weight_shape()), cc.weight);
    const std::vector<int64_t> y = direct_conv2d(cc, x, w);
    for (int64_t co = 0; co < cc.c_out; ++co) {
        int64_t kernel_sum = 0;
        for (int64_t i = 0; i < cc.k(); ++i) kernel_sum += w[co * cc.k() + i];
        CHECK(y[co * cc.out_h() * cc.out_w()] == 7 * kernel_sum);
    }
}

TEST_CASE("conv2d with dilation 1, 2, 3 and unequal [1,3], [3,2] equals the direct convolution") {
    std::mt19937_64 rng(105);
    const std::pair<int64_t, int64_t> dilations[] = {{1, 1}, {2, 2}, {3, 3}, {1, 3}, {3, 2}};
    for (auto [dh, dw] : dilations) {
        ConvCase cc = square_conv(2, 0, 3, 3);
        cc.height = 9, cc.width = 10;
        cc.dilation_h = dh, cc.dilation_w = dw;
        cc.pad_top = 1, cc.pad_left = 2, cc.pad_bottom = 0, cc.pad_right = 1;
        check_conv("dil" + std::to_string(dh) + "x" + std::to_string(dw), cc, rng);
    }
}

TEST_CASE("grouped conv2d with groups 1, 2 and 4 equals the direct convolution") {
    std::mt19937_64 rng(106);
    for (int64_t groups : {1, 2, 4}) {
        ConvCase cc = square_conv(8, 6, 12, 3);
        cc.groups = groups;
        cc.pad_top = cc.pad_left = cc.pad_bottom = cc.pad_right = 1;
        check_conv("groups" + std::to_string(groups), cc, rng);
    }
}

TEST_CASE(
    "depthwise conv2d (groups == C_in) and channel multiplier 2 (C_out = 2 C_in) equal the direct "
    "convolution") {
    std::mt19937_64 rng(107);
    ConvCase dw = square_conv(5, 7, 5, 3);
    dw.groups = 5;
    dw.stride_h = dw.stride_w = 2;
    dw.pad_top = dw.pad_left = dw.pad_bottom = dw.pad_right = 1;
    check_conv("depthwise", dw, rng);

    ConvCase mult = dw;
    mult.c_out = 10;
    mult.stride_h = mult.stride_w = 1;
    mult.dilation_h = 2;
    check_conv("depthwise_x2", mult, rng);
}

TEST_CASE("conv2d over a batch of 3 non-square 5x9 images equals the direct convolution") {
    std::mt19937_64 rng(108);
    ConvCase cc;
    cc.batch = 3, cc.c_in = 4, cc.height = 5, cc.width = 9, cc.c_out = 6, cc.kernel_h = 2,
    cc.kernel_w = 3;
    cc.groups = 2, cc.stride_w = 2, cc.pad_left = 1, cc.pad_bottom = 1;
    check_conv("batch3", cc, rng);
}

TEST_CASE("a nonzero input zero point is the padding value, for signed and unsigned inputs") {
    std::mt19937_64 rng(109);
    ConvCase u = square_conv(3, 4, 2, 3);
    u.pad_top = u.pad_left = u.pad_bottom = u.pad_right = 2;
    u.zero_point = 200;
    check_conv("zp_unsigned", u, rng);

    ConvCase s = u;
    s.input = Format{6, true};
    s.zero_point = -5;
    s.groups = 1;
    check_conv("zp_signed", s, rng);

    ConvCase wide = u;
    wide.input = Format{16, false};
    wide.weight = Format{12, true};
    wide.zero_point = 65535;
    check_conv("zp_wide", wide, rng);
}

TEST_CASE(
    "a 1x1 conv and a kernel exactly as large as the padded input equal the direct convolution") {
    std::mt19937_64 rng(110);
    ConvCase pointwise = square_conv(6, 4, 9, 1);
    pointwise.groups = 3;
    check_conv("pointwise", pointwise, rng);

    ConvCase full = square_conv(2, 3, 4, 5);  // 3x3 image padded to 5x5: one output pixel
    full.pad_top = full.pad_left = full.pad_bottom = full.pad_right = 1;
    full.zero_point = 9;
    check_conv("full_kernel", full, rng);
}

TEST_CASE(
    "randomized conv2d geometries (fixed seed) equal the direct convolution in both k orders") {
    std::mt19937_64 rng(20260207);
    auto pick = [&](int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    const int widths[] = {1, 2, 3, 4, 8, 12, 16};
    for (int n = 0; n < 60; ++n) {
        ConvCase cc;
        const int64_t kind = pick(0, 4);  // groups 1, 2, 3, 4 or depthwise
        if (kind == 4) {
            cc.groups = cc.c_in = pick(1, 6);
            cc.c_out = cc.c_in * pick(1, 3);
        } else {
            cc.groups = kind + 1;
            cc.c_in = cc.groups * pick(1, 3);
            cc.c_out = cc.groups * pick(1, 3);
        }
        cc.batch = pick(1, 3);
        cc.kernel_h = pick(1, 4), cc.kernel_w = pick(1, 4);
        cc.stride_h = pick(1, 3), cc.stride_w = pick(1, 3);
        cc.dilation_h = pick(1, 3), cc.dilation_w = pick(1, 3);
        cc.pad_top = pick(0, 4), cc.pad_left = pick(0, 4), cc.pad_bottom = pick(0, 4),
        cc.pad_right = pick(0, 4);
        if (pick(0, 2) == 0) cc.pad_bottom = cc.pad_top, cc.pad_right = cc.pad_left;
        cc.compact = pick(0, 1) == 1;
        const int64_t eff_h = cc.dilation_h * (cc.kernel_h - 1) + 1,
                      eff_w = cc.dilation_w * (cc.kernel_w - 1) + 1;
        cc.height = std::max<int64_t>(1, eff_h - cc.pad_top - cc.pad_bottom) + pick(0, 6);
        cc.width = std::max<int64_t>(1, eff_w - cc.pad_left - cc.pad_right) + pick(0, 6);
        cc.input = Format{widths[pick(0, 6)], pick(0, 1) == 1};
        cc.weight = Format{widths[pick(0, 6)], pick(0, 1) == 1};
        cc.zero_point = std::uniform_int_distribution<int64_t>(cc.input.min(), cc.input.max())(rng);
        check_conv("random" + std::to_string(n), cc, rng);
    }
}

// ---------------------------------------------------------------------------------- linear

TEST_CASE("linear on a 1-D input (one row), a 2-D input and a 3-D input equals x @ w.T") {
    std::mt19937_64 rng(201);
    check_linear("linear_1d", {7}, 3, rng);
    check_linear("linear_2d", {4, 5}, 6, rng);
    check_linear("linear_3d", {2, 3, 4}, 5, rng);
    check_linear("linear_k1", {3, 1}, 2, rng);
}

// ---------------------------------------------------------------------------------- matmul

TEST_CASE("matmul with equal batch dimensions equals the per-batch product") {
    std::mt19937_64 rng(301);
    check_matmul("mm_2d", {3, 4}, {4, 2}, rng);
    check_matmul("mm_equal", {2, 3, 4, 5}, {2, 3, 5, 6}, rng);
}

TEST_CASE("matmul batch dimensions broadcast as in numpy") {
    std::mt19937_64 rng(302);
    check_matmul("mm_b1", {2, 3, 4, 5}, {1, 3, 5, 6}, rng);
    check_matmul("mm_lhs_no_batch", {4, 5}, {2, 5, 6}, rng);
    check_matmul("mm_rhs_no_batch", {2, 3, 4, 5}, {5, 6}, rng);
    check_matmul("mm_both_ways", {2, 1, 4, 5}, {3, 5, 6}, rng);
    check_matmul("mm_lhs_repeats", {1, 4, 5}, {3, 5, 2}, rng);
}

// ------------------------------------------------------------------------ bundled examples

TEST_CASE(
    "the bundled examples' recorded outputs equal the lowered dot products plus bias, in both k "
    "orders") {
    const fs::path examples = fs::path(ACCSIM_SOURCE_DIR) / "traces" / "examples";
    int found = 0;
    for (const auto& entry : fs::directory_iterator(examples)) {
        if (!fs::exists(entry.path() / "manifest.json")) continue;
        ++found;
        INFO("example " << entry.path().string());
        const Trace trace = Trace::load(entry.path().string());
        for (const LayerSpec& layer : trace.layers()) {
            if (!layer.output) continue;
            INFO("layer " << layer.name);
            const std::vector<int64_t> recorded = read_int64(*layer.output);
            const std::vector<int64_t> bias =
                layer.bias ? read_int64(layer.bias->tensor) : std::vector<int64_t>{};
            for (KOrder order : k_orders) {
                INFO("k_order " << to_string(order));
                const LoweredLayer low(layer, order);
                std::vector<int32_t> x(static_cast<std::size_t>(low.k())), scratch(x.size());
                Mismatches bad;
                for (int64_t pos = 0; pos < low.positions(); ++pos) {
                    low.gather_x(pos, x.data());
                    for (int64_t j = 0; j < low.per_position(); ++j) {
                        const int32_t* q = low.q(pos, j, scratch.data());
                        int64_t y = bias.empty() ? 0 : bias[low.channel(pos, j)];
                        for (int64_t i = 0; i < low.k(); ++i) y += int64_t{q[i]} * x[i];
                        const int64_t idx = low.output_index(pos, j);
                        if (y != recorded.at(idx))
                            bad.add("output " + std::to_string(idx) + ": " + std::to_string(y) +
                                    " != recorded " + std::to_string(recorded.at(idx)));
                    }
                }
                INFO("first mismatch: " << bad.first);
                CHECK(bad.count == 0);
            }
        }
    }
    CHECK(found >= 2);
}

TEST_CASE("tiny-linear's outputs are the hand-computed values in its meta") {
    const Trace trace =
        Trace::load(std::string(ACCSIM_SOURCE_DIR) + "/traces/examples/tiny-linear.trace");
    const LoweredLayer low(trace.layers().at(0), KOrder::c_kh_kw);
    std::vector<int64_t> y(6);
    std::vector<int32_t> x(static_cast<std::size_t>(low.k())), scratch(x.size());
    for (int64_t pos = 0; pos < low.positions(); ++pos) {
        low.gather_x(pos, x.data());
        for (int64_t j = 0; j < low.per_position(); ++j) {
            const int32_t* q = low.q(pos, j, scratch.data());
            for (int64_t i = 0; i < low.k(); ++i)
                y.at(low.output_index(pos, j)) += int64_t{q[i]} * x[i];
        }
    }
    CHECK(y == std::vector<int64_t>{1905, 2310, 1800, 130, -320, -210});
}
