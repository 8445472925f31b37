#include "trace.h"

#include <sys/stat.h>

#include <cmath>
#include <map>
#include <set>

#include "datapath/input_error.h"
#include "datapath/wide_int.h"
#include "json_cursor.h"

namespace accsim {

std::vector<std::string> Trace::tensor_files() const {
    std::vector<std::string> out;
    for (const auto& f : m_files) out.push_back(f->path());
    return out;
}

std::string shape_string(const std::vector<int64_t>& s, const char* sep) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? sep : "") + std::to_string(s[i]);
    return out + "]";
}

std::string index_string(const std::vector<int64_t>& s, int64_t i) {
    std::vector<int64_t> idx(s.size());
    for (std::size_t d = s.size(); d-- > 0;) {
        idx[d] = s[d] ? i % s[d] : 0;
        i = s[d] ? i / s[d] : 0;
    }
    return shape_string(idx);
}

namespace {

// Product of sizes, saturating at 2^62 so that a hostile shape cannot overflow; anything that
// large is rejected by the limits below.
constexpr int64_t k_product_cap = int64_t{1} << 62;
int64_t capped_product(const std::vector<int64_t>& factors) {
    i128 p = 1;
    for (int64_t f : factors) {
        p *= f;
        if (p > k_product_cap) p = k_product_cap;
    }
    return static_cast<int64_t>(p);
}

std::string count_text(int64_t n) {
    return n >= k_product_cap ? "more than 2^62" : std::to_string(n);
}

bool is_dir(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

class TraceLoader {
  public:
    explicit TraceLoader(Trace& t) : m_t(t) {}

    void load(const std::string& path) {
        struct stat st {};
        if (!path.empty() && ::stat(path.c_str(), &st) != 0)
            throw InputError(path, "file", "no such trace directory");
        if (is_dir(path) || path.empty()) {
            m_t.m_dir = path.empty() ? "." : path;
            while (m_t.m_dir.size() > 1 && m_t.m_dir.back() == '/') m_t.m_dir.pop_back();
            m_t.m_manifest_path = m_t.m_dir + "/manifest.json";
        } else {
            m_t.m_manifest_path = path;
            const auto slash = path.rfind('/');
            m_t.m_dir = slash == std::string::npos ? "." : path.substr(0, slash);
        }
        read_manifest();
        const JsonCursor root(m_t.m_manifest, m_t.m_manifest_path);
        root.require_object();
        root.allow_keys({"format", "version", "model", "source", "tensors", "layers", "meta"});
        const JsonCursor format = root.at("format");
        if (format.as_string() != "accsim-trace")
            format.fail("expected \"accsim-trace\", got " + brief(format.value()));
        const JsonCursor version = root.at("version");
        if (!version.value().is_number_integer() || version.value().get<int64_t>() != 1)
            version.fail("unsupported version " + brief(version.value()) +
                         " (this accsim reads version 1)");
        m_t.m_model = root.at("model").as_string();
        if (auto s = root.find("source")) m_t.m_source = s->as_string();
        if (auto m = root.find("meta")) m->require_object();
        open_tensor_files(root.at("tensors"));

        const JsonCursor layers = root.at("layers");
        if (layers.size() == 0) layers.fail("no layers");
        std::set<std::string> names;
        for (const JsonCursor& l : layers.items()) {
            LayerSpec spec = parse_layer(l);
            if (!names.insert(spec.name).second)
                l.at("name").fail("duplicate layer name \"" + spec.name + "\"");
            spec.index = m_t.m_layers.size();
            m_t.m_layers.push_back(std::move(spec));
        }
    }

  private:
    void read_manifest() {
        struct stat st {};
        if (::stat(m_t.m_manifest_path.c_str(), &st) != 0)
            throw InputError(m_t.m_manifest_path, "file",
                             "cannot open the manifest (is this a trace directory?)");
        m_t.m_manifest = read_json_file(m_t.m_manifest_path);
    }

    void open_tensor_files(const JsonCursor& c) {
        std::vector<JsonCursor> names;
        if (c.value().is_array()) {
            if (c.size() == 0) c.fail("expected at least one safetensors file");
            names = c.items();
        } else {
            names.push_back(c);
        }
        for (const JsonCursor& n : names) {
            const std::string file = n.as_string();
            if (file.empty()) n.fail("empty file name");
            const std::string path =
                !file.empty() && file[0] == '/' ? file : m_t.m_dir + "/" + file;
            m_t.m_files.push_back(std::make_unique<SafetensorsFile>(path));
            for (const auto& kv : m_t.m_files.back()->tensors()) {
                const auto [it, fresh] = m_tensors.emplace(
                    kv.first, TensorRef{kv.first, m_t.m_files.back().get(), &kv.second});
                if (!fresh)
                    n.fail("tensor \"" + kv.first + "\" appears in both " +
                           it->second.file->path() + " and " + m_t.m_files.back()->path());
            }
        }
    }

    TensorRef tensor(const JsonCursor& c) const {
        const std::string name = c.as_string();
        const auto it = m_tensors.find(name);
        if (it == m_tensors.end()) {
            std::string files;
            for (const auto& f : m_t.m_files) files += (files.empty() ? "" : ", ") + f->path();
            c.fail("tensor \"" + name + "\" not found in " + files);
        }
        return it->second;
    }

    // Checks every stored value against [lo, hi] (once per tensor and range).
    void check_values(const TensorRef& t, int64_t lo, int64_t hi, const std::string& declared,
                      const std::string& where, int64_t& min_v, int64_t& max_v) {
        const TensorInfo& info = *t.info;
        if (info.numel == 0) {
            min_v = max_v = 0;
            return;
        }
        std::tie(min_v, max_v) = int_range(info);
        if (min_v >= lo && max_v <= hi) return;
        // Out of range: find the first offending element for the message.
        for (int64_t i = 0; i < info.numel; ++i) {
            const int64_t v = read_int(info, i);
            if (v < lo || v > hi)
                throw InputError(t.file->path(), t.name,
                                 "value " + std::to_string(v) + " at " +
                                     index_string(info.shape, i) + " is outside the declared " +
                                     declared + " [" + std::to_string(lo) + ", " +
                                     std::to_string(hi) + "] (" + where + ")");
            if (v < min_v) min_v = v;
            if (v > max_v) max_v = v;
        }
        if (info.numel == 0) min_v = max_v = 0;
    }

    OperandSpec parse_operand(const JsonCursor& c, const std::string& role) {
        c.require_object();
        c.allow_keys(
            {"tensor", "bits", "signed", "range", "zero_point", "scale", "format", "block_scale"});
        OperandSpec op;
        op.role = role;
        op.tensor = tensor(c.at("tensor"));
        if (auto f = c.find("format")) {
            parse_float_operand(c, *f, op);
            return op;
        }
        if (auto b = c.find("block_scale")) op.block_scale = parse_block_scale(*b, role);
        op.format.bits = static_cast<int>(
            c.at("bits").as_int(OperandFormat::k_min_bits, OperandFormat::k_max_bits));
        op.format.is_signed = c.at("signed").as_bool();
        if (auto r = c.find("range")) parse_range(*r, op.format);
        if (!is_integer_code_dtype(op.tensor.info->dtype))
            c.at("tensor").fail("tensor \"" + op.tensor.name + "\" has dtype " +
                                to_string(op.tensor.info->dtype) +
                                "; operand codes must be I8, U8, I16, U16 or I32 (float operands "
                                "declare \"format\")");
        if (auto z = c.find("zero_point"))
            op.zero_point = z->as_int(op.format.min(), op.format.max());
        parse_scale(c, op);
        check_values(op.tensor, op.format.min(), op.format.max(),
                     op.format.has_range
                         ? std::string("range")
                         : std::to_string(op.format.bits) + "-bit " +
                               (op.format.is_signed ? "signed" : "unsigned") + " range",
                     c.pointer(), op.min_value, op.max_value);
        return op;
    }

    // "range": [lo, hi], inside the bits' range and holding 0 (so that every partial sum of a
    // dot product lies between the exact bound's extremes).
    static void parse_range(const JsonCursor& r, OperandFormat& f) {
        if (!r.value().is_array() || r.size() != 2)
            r.fail("expected [lo, hi], two integers, got " + brief(r.value()));
        f.range_lo = r.at(std::size_t{0}).as_int(f.type_min(), 0);
        f.range_hi = r.at(std::size_t{1}).as_int(0, f.type_max());
        f.has_range = true;
    }

    void parse_scale(const JsonCursor& c, OperandSpec& op) {
        if (auto s = c.find("scale")) {
            if (s->value().is_string()) {
                TensorRef st = tensor(*s);
                if (st.info->dtype != DType::F32)
                    s->fail("scale tensor \"" + st.name + "\" has dtype " +
                            to_string(st.info->dtype) + ", expected F32");
                for (int64_t i = 0; i < st.info->numel; ++i) {
                    const float v = read_f32(*st.info, i);
                    if (!(std::isfinite(v) && v > 0))
                        throw InputError(st.file->path(), st.name,
                                         "scale " + std::to_string(v) + " at " +
                                             index_string(st.info->shape, i) +
                                             " is not a positive finite number");
                }
                op.scale_tensor = st;
            } else {
                const double v = s->as_number();
                if (!(std::isfinite(v) && v > 0))
                    s->fail("expected a positive number, got " + brief(s->value()));
                op.scale = v;
            }
        }
    }

    // The dtype that stores each float operand format.
    static DType float_dtype(const FloatFormat& f) {
        if (f.name == "e4m3") return DType::F8_E4M3;
        if (f.name == "e5m2") return DType::F8_E5M2;
        if (f.name == "fp16") return DType::F16;
        if (f.name == "bf16") return DType::BF16;
        return DType::F32;  // fp32, tf32
    }

    void parse_float_operand(const JsonCursor& c, const JsonCursor& f, OperandSpec& op) {
        const std::string name = f.as_string();
        op.float_format = find_operand_float_format(name);
        if (!op.float_format)
            f.fail("unknown float format \"" + name + "\" (valid: " + operand_float_format_names() +
                   ")");
        for (const char* key : {"bits", "signed", "range", "zero_point"})
            if (c.find(key))
                c.at(key).fail(std::string("a float operand declares \"format\" instead of \"") +
                               key + "\"");
        const DType want = float_dtype(*op.float_format);
        if (op.tensor.info->dtype != want)
            c.at("tensor").fail("tensor \"" + op.tensor.name + "\" has dtype " +
                                to_string(op.tensor.info->dtype) + "; format \"" + name +
                                "\" is stored as " + to_string(want));
        parse_scale(c, op);
        if (auto b = c.find("block_scale")) op.block_scale = parse_block_scale(*b, op.role);
        // Every code is a value, an infinity or a NaN: nothing to range-check.
        op.format.bits = std::min(op.float_format->storage_bits, OperandFormat::k_max_bits);
        op.format.is_signed = true;
    }

    BlockScaleSpec parse_block_scale(const JsonCursor& b, const std::string& role) {
        b.require_object();
        if (role == "weight" || role == "rhs")
            b.allow_keys({"tensor", "block", "format", "block_channels"});
        else
            b.allow_keys({"tensor", "block", "format"});
        BlockScaleSpec s;
        s.tensor = tensor(b.at("tensor"));
        s.block = b.at("block").as_int(1, k_max_dot_length);
        if (auto bc = b.find("block_channels")) s.block_channels = bc->as_int(1, int64_t{1} << 30);
        std::string fmt = "f32";
        if (auto f = b.find("format")) fmt = f->as_enum({"f32", "e8m0"});
        s.e8m0 = fmt == "e8m0";
        const DType want = s.e8m0 ? DType::U8 : DType::F32;
        if (s.tensor.info->dtype != want)
            b.at("tensor").fail("block scale tensor \"" + s.tensor.name + "\" has dtype " +
                                to_string(s.tensor.info->dtype) + "; " + fmt + " scales are " +
                                to_string(want));
        if (!s.e8m0) {
            for (int64_t i = 0; i < s.tensor.info->numel; ++i) {
                const float v = read_f32(*s.tensor.info, i);
                if (!(std::isfinite(v) && v > 0))
                    throw InputError(s.tensor.file->path(), s.tensor.name,
                                     "block scale " + std::to_string(v) + " at " +
                                         index_string(s.tensor.info->shape, i) +
                                         " is not a positive finite number");
            }
        }
        return s;
    }

    // Block scales: linear layers; shapes [rows..., ceil(K/B)] and [ceil(C/Bc), ceil(K/B)].
    void check_block_scales(const JsonCursor& l, const LayerSpec& s) {
        if (!s.has_block_scales()) return;
        const OperandSpec& any = s.x.block_scale ? s.x : s.q;
        if (s.op != LayerOp::linear)
            l.at(any.role)
                .at("block_scale")
                .fail(
                    "block scales are modelled on linear layers (weight [out, in], input [..., "
                    "in])");
        if (s.x.block_scale && s.q.block_scale && s.x.block_scale->block != s.q.block_scale->block)
            l.at("weight")
                .at("block_scale")
                .at("block")
                .fail("the input's and the weight's blocks differ (" +
                      std::to_string(s.x.block_scale->block) + " and " +
                      std::to_string(s.q.block_scale->block) + " products)");
        auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
        if (s.x.block_scale) {
            const BlockScaleSpec& b = *s.x.block_scale;
            std::vector<int64_t> want(s.x.tensor.shape().begin(), s.x.tensor.shape().end() - 1);
            want.push_back(ceil_div(s.shape.k, b.block));
            if (b.tensor.shape() != want)
                l.at("input")
                    .at("block_scale")
                    .at("tensor")
                    .fail("block scale \"" + b.tensor.name + "\" has shape " +
                          shape_string(b.tensor.shape()) + ", expected " + shape_string(want) +
                          " (one per row and block of " + std::to_string(b.block) + ")");
        }
        if (s.q.block_scale) {
            const BlockScaleSpec& b = *s.q.block_scale;
            const std::vector<int64_t> want = {ceil_div(s.shape.channels, b.block_channels),
                                               ceil_div(s.shape.k, b.block)};
            if (b.tensor.shape() != want)
                l.at("weight")
                    .at("block_scale")
                    .at("tensor")
                    .fail("block scale \"" + b.tensor.name + "\" has shape " +
                          shape_string(b.tensor.shape()) + ", expected " + shape_string(want) +
                          " (one per " + std::to_string(b.block_channels) +
                          " channels and block of " + std::to_string(b.block) + ")");
        }
    }

    // An integer >= lo (0: non-negative, 1: positive), with a message that says so.
    static int64_t bounded(const JsonCursor& v, int64_t lo, int64_t hi) {
        const nlohmann::json& j = v.value();
        if (j.is_number() && j.get<double>() < lo)
            v.fail(std::string("expected a ") + (lo == 0 ? "non-negative" : "positive") +
                   " integer, got " + brief(j));
        return v.as_int(lo, hi);
    }

    void parse_conv_params(const JsonCursor& c, Conv2dParams& p) {
        c.require_object();
        c.allow_keys({"stride", "padding", "dilation", "groups"});
        // An integer, or a list of the given lengths, each in [lo, hi].
        auto ints = [](const JsonCursor& v, std::initializer_list<std::size_t> lengths, int64_t lo,
                       const char* what) {
            std::vector<int64_t> out;
            const int64_t hi = int64_t{1} << 30;
            if (v.value().is_array()) {
                bool ok = false;
                for (std::size_t n : lengths) ok = ok || v.size() == n;
                if (!ok) {
                    std::string forms;
                    for (std::size_t n : lengths)
                        forms += (forms.empty() ? "" : " or ") + std::to_string(n);
                    v.fail(std::string("expected ") + what + ": an integer or a list of " + forms +
                           " integers, got " + brief(v.value()));
                }
                for (const JsonCursor& e : v.items()) out.push_back(bounded(e, lo, hi));
            } else {
                out.push_back(bounded(v, lo, hi));
            }
            return out;
        };
        if (auto s = c.find("stride")) {
            const auto v = ints(*s, {2}, 1, "a stride");
            p.stride_h = v[0];
            p.stride_w = v.size() > 1 ? v[1] : v[0];
        }
        if (auto s = c.find("padding")) {
            const auto v = ints(*s, {2, 4}, 0, "a padding");
            if (v.size() == 4) {
                p.pad_top = v[0], p.pad_left = v[1], p.pad_bottom = v[2], p.pad_right = v[3];
            } else {
                p.pad_top = p.pad_bottom = v[0];
                p.pad_left = p.pad_right = v.size() > 1 ? v[1] : v[0];
            }
        }
        if (auto s = c.find("dilation")) {
            const auto v = ints(*s, {2}, 1, "a dilation");
            p.dilation_h = v[0];
            p.dilation_w = v.size() > 1 ? v[1] : v[0];
        }
        if (auto g = c.find("groups")) p.groups = bounded(*g, 1, int64_t{1} << 30);
    }

    void shape_linear(const JsonCursor& l, LayerSpec& s) {
        const auto& w = s.q.tensor.shape();
        const auto& x = s.x.tensor.shape();
        if (w.size() != 2)
            l.at("weight").fail("weight \"" + s.q.tensor.name + "\" has shape " + shape_string(w) +
                                ", expected [out, in]");
        if (x.empty())
            l.at("input").fail("input \"" + s.x.tensor.name + "\" is a scalar, expected [..., in]");
        if (x.back() != w[1])
            l.at("input").fail("input \"" + s.x.tensor.name + "\" has " + std::to_string(x.back()) +
                               " features (shape " + shape_string(x) + ") but the weight expects " +
                               std::to_string(w[1]) + " (shape " + shape_string(w) + ")");
        LayerShape& sh = s.shape;
        sh.k = w[1];
        sh.channels = w[0];
        sh.rows = capped_product(std::vector<int64_t>(x.begin(), x.end() - 1));
        sh.output_shape.assign(x.begin(), x.end() - 1);
        sh.output_shape.push_back(w[0]);
        sh.outputs = capped_product({sh.rows, sh.channels});
    }

    void shape_conv2d(const JsonCursor& l, LayerSpec& s) {
        const auto& w = s.q.tensor.shape();
        const auto& x = s.x.tensor.shape();
        const Conv2dParams& p = s.conv;
        if (w.size() != 4)
            l.at("weight").fail("weight \"" + s.q.tensor.name + "\" has shape " + shape_string(w) +
                                ", expected [C_out, C_in/groups, kH, kW]");
        if (x.size() != 4)
            l.at("input").fail("input \"" + s.x.tensor.name + "\" has shape " + shape_string(x) +
                               ", expected [B, C_in, H, W]");
        LayerShape& sh = s.shape;
        sh.batch = x[0], sh.c_in = x[1], sh.height = x[2], sh.width = x[3];
        sh.channels = w[0], sh.kernel_h = w[2], sh.kernel_w = w[3];
        const JsonCursor groups_at = l.find("conv2d") && l.at("conv2d").find("groups")
                                         ? l.at("conv2d").at("groups")
                                         : l.at("op");
        if (sh.c_in % p.groups)
            groups_at.fail("groups " + std::to_string(p.groups) + " does not divide the input's " +
                           std::to_string(sh.c_in) + " channels");
        if (sh.channels % p.groups)
            groups_at.fail("groups " + std::to_string(p.groups) + " does not divide the weight's " +
                           std::to_string(sh.channels) + " output channels");
        if (w[1] != sh.c_in / p.groups)
            l.at("weight").fail("weight \"" + s.q.tensor.name + "\" has " + std::to_string(w[1]) +
                                " input channels per group (shape " + shape_string(w) +
                                "), but the input has " + std::to_string(sh.c_in) +
                                " channels in " + std::to_string(p.groups) + " groups (shape " +
                                shape_string(x) + ")");
        // 128 bits: dilation x kernel extent can exceed 64 bits in a hostile manifest.
        const i128 eff_h = i128{p.dilation_h} * (sh.kernel_h - 1) + 1;
        const i128 eff_w = i128{p.dilation_w} * (sh.kernel_w - 1) + 1;
        const i128 span_h = i128{sh.height} + p.pad_top + p.pad_bottom - eff_h;
        const i128 span_w = i128{sh.width} + p.pad_left + p.pad_right - eff_w;
        if (span_h < 0 || span_w < 0 || sh.kernel_h == 0 || sh.kernel_w == 0)
            l.at("weight").fail("kernel " + std::to_string(sh.kernel_h) + "x" +
                                std::to_string(sh.kernel_w) + " (dilated " + to_string(eff_h) +
                                "x" + to_string(eff_w) + ") does not fit the padded input " +
                                std::to_string(sh.height + p.pad_top + p.pad_bottom) + "x" +
                                std::to_string(sh.width + p.pad_left + p.pad_right));
        sh.out_h = static_cast<int64_t>(span_h / p.stride_h + 1);
        sh.out_w = static_cast<int64_t>(span_w / p.stride_w + 1);
        sh.k = capped_product({w[1], sh.kernel_h, sh.kernel_w});
        sh.output_shape = {sh.batch, sh.channels, sh.out_h, sh.out_w};
        sh.outputs = capped_product({sh.batch, sh.channels, sh.out_h, sh.out_w});
    }

    void shape_matmul(const JsonCursor& l, LayerSpec& s) {
        const auto& a = s.x.tensor.shape();
        const auto& b = s.q.tensor.shape();
        if (a.size() < 2)
            l.at("lhs").fail("lhs \"" + s.x.tensor.name + "\" has shape " + shape_string(a) +
                             ", expected [..., M, K]");
        if (b.size() < 2)
            l.at("rhs").fail("rhs \"" + s.q.tensor.name + "\" has shape " + shape_string(b) +
                             ", expected [..., K, N]");
        if (a.back() != b[b.size() - 2])
            l.at("rhs").fail("lhs " + shape_string(a) + " and rhs " + shape_string(b) +
                             " disagree on K (" + std::to_string(a.back()) + " vs " +
                             std::to_string(b[b.size() - 2]) + ")");
        LayerShape& sh = s.shape;
        sh.lhs_batch_shape.assign(a.begin(), a.end() - 2);
        sh.rhs_batch_shape.assign(b.begin(), b.end() - 2);
        const std::size_t nb = std::max(sh.lhs_batch_shape.size(), sh.rhs_batch_shape.size());
        sh.batch_shape.assign(nb, 1);
        for (std::size_t d = 0; d < nb; ++d) {
            const std::size_t da = d + sh.lhs_batch_shape.size();
            const std::size_t db = d + sh.rhs_batch_shape.size();
            const int64_t ea = da >= nb ? sh.lhs_batch_shape[da - nb] : 1;
            const int64_t eb = db >= nb ? sh.rhs_batch_shape[db - nb] : 1;
            if (ea != eb && ea != 1 && eb != 1)
                l.at("rhs").fail("batch dimensions of lhs " + shape_string(a) + " and rhs " +
                                 shape_string(b) + " do not broadcast");
            sh.batch_shape[d] = ea == 1 ? eb : ea;
        }
        sh.k = a.back();
        sh.rows = a[a.size() - 2];
        sh.channels = b.back();
        sh.output_shape = sh.batch_shape;
        sh.output_shape.push_back(sh.rows);
        sh.output_shape.push_back(sh.channels);
        const int64_t batches = capped_product(sh.batch_shape);
        sh.outputs = capped_product({batches, sh.rows, sh.channels});
    }

    LayerSpec parse_layer(const JsonCursor& l) {
        l.require_object();
        LayerSpec s;
        s.name = l.at("name").as_string();
        if (s.name.empty()) l.at("name").fail("empty layer name");
        if (s.name.size() > k_max_name_length)
            l.at("name").fail("layer name longer than " + std::to_string(k_max_name_length) +
                              " characters");
        s.op = l.at("op").as_enum(k_layer_op_names);
        if (s.op == LayerOp::matmul) {
            l.allow_keys({"name", "op", "lhs", "rhs", "bias", "output", "meta"});
            s.x = parse_operand(l.at("lhs"), "lhs");
            s.q = parse_operand(l.at("rhs"), "rhs");
        } else if (s.op == LayerOp::linear) {
            l.allow_keys({"name", "op", "input", "weight", "bias", "output", "meta"});
        } else {
            l.allow_keys({"name", "op", "input", "weight", "bias", "output", "conv2d", "meta"});
        }
        if (s.op != LayerOp::matmul) {
            s.x = parse_operand(l.at("input"), "input");
            s.q = parse_operand(l.at("weight"), "weight");
        }
        if (auto m = l.find("meta")) m->require_object();
        if ((s.x.float_format != nullptr) != (s.q.float_format != nullptr)) {
            const OperandSpec& i = s.x.float_format ? s.q : s.x;
            l.at(i.role).fail(
                "the other operand is a float format; both operands of a layer are "
                "float (\"format\") or both integer (\"bits\", \"signed\")");
        }
        if (s.op == LayerOp::conv2d) {
            if (auto c = l.find("conv2d")) parse_conv_params(*c, s.conv);
            shape_conv2d(l, s);
        } else if (s.op == LayerOp::linear) {
            shape_linear(l, s);
        } else {
            shape_matmul(l, s);
        }
        if (s.shape.k < 1)
            l.at("op").fail("the dot length K is 0 (shapes give no products to add)");
        if (s.shape.k > k_max_dot_length)
            l.at("op").fail("the dot length K = " + count_text(s.shape.k) + " exceeds " +
                            std::to_string(k_max_dot_length));
        if (s.shape.outputs < 1) l.at("op").fail("the shapes give no outputs");
        if (s.shape.outputs > k_max_outputs)
            l.at("op").fail("the layer has " + count_text(s.shape.outputs) +
                            " outputs; accsim accepts up to " + std::to_string(k_max_outputs));
        if (i128{s.shape.outputs} * s.shape.k > k_max_macs)
            l.at("op").fail("the layer has " + to_string(i128{s.shape.outputs} * s.shape.k) +
                            " multiply-accumulates; accsim accepts up to " +
                            std::to_string(k_max_macs));
        if (s.q.scale_tensor) {
            const int64_t n = s.q.scale_tensor->info->numel;
            if (n != 1 && n != s.shape.channels)
                l.at(s.q.role).at("scale").fail("scale tensor \"" + s.q.scale_tensor->name +
                                                "\" has " + std::to_string(n) +
                                                " values; expected 1 or one per output channel (" +
                                                std::to_string(s.shape.channels) + ")");
        }
        if (s.x.scale_tensor && s.x.scale_tensor->info->numel != 1)
            l.at(s.x.role).at("scale").fail(
                "an " + s.x.role + " scale tensor must hold one value, \"" +
                s.x.scale_tensor->name + "\" has " + std::to_string(s.x.scale_tensor->info->numel));
        check_block_scales(l, s);
        if (auto b = l.find("bias")) {
            if (s.is_float())
                b->fail("a float layer takes no bias here (add it after the accumulation)");
            s.bias = parse_bias(*b, s);
        }
        if (auto o = l.find("output")) {
            o->require_object();
            o->allow_keys({"tensor"});
            const TensorRef t = tensor(o->at("tensor"));
            const bool f64 = s.is_float() || s.has_block_scales();
            if (f64 && t.info->dtype != DType::F64)
                o->at("tensor").fail("output \"" + t.name + "\" has dtype " +
                                     to_string(t.info->dtype) +
                                     ", expected F64 (the exact results of a float or block-scaled "
                                     "layer, rounded to binary64)");
            if (!f64 && t.info->dtype != DType::I32 && t.info->dtype != DType::I64)
                o->at("tensor").fail("output \"" + t.name + "\" has dtype " +
                                     to_string(t.info->dtype) + ", expected I32 or I64");
            if (t.shape() != s.shape.output_shape)
                o->at("tensor").fail("output \"" + t.name + "\" has shape " +
                                     shape_string(t.shape()) + ", but the layer computes " +
                                     shape_string(s.shape.output_shape));
            s.output = t;
        }
        return s;
    }

    BiasSpec parse_bias(const JsonCursor& b, const LayerSpec& s) {
        b.require_object();
        b.allow_keys({"tensor", "bits"});
        BiasSpec bias;
        bias.tensor = tensor(b.at("tensor"));
        if (auto bits = b.find("bits")) bias.bits = static_cast<int>(bits->as_int(1, 64));
        if (!is_wide_integer_dtype(bias.tensor.info->dtype))
            b.at("tensor").fail("bias \"" + bias.tensor.name + "\" has dtype " +
                                to_string(bias.tensor.info->dtype) +
                                ", expected an integer dtype (I8, U8, I16, U16, I32, I64)");
        const auto& sh = bias.tensor.shape();
        if (sh.size() != 1 || sh[0] != s.shape.channels)
            b.at("tensor").fail("bias \"" + bias.tensor.name + "\" has shape " + shape_string(sh) +
                                ", expected [" + std::to_string(s.shape.channels) +
                                "] (one per output channel)");
        const int64_t lo = bias.bits == 64 ? INT64_MIN : -(int64_t{1} << (bias.bits - 1));
        const int64_t hi = bias.bits == 64 ? INT64_MAX : (int64_t{1} << (bias.bits - 1)) - 1;
        check_values(bias.tensor, lo, hi, std::to_string(bias.bits) + "-bit signed range",
                     b.pointer(), bias.min_value, bias.max_value);
        return bias;
    }

    Trace& m_t;
    std::map<std::string, TensorRef> m_tensors;
};

Trace Trace::load(const std::string& path) {
    Trace t;
    TraceLoader(t).load(path);
    return t;
}

}  // namespace accsim
