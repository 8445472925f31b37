"""face-api's tiny face detector on real photos: how many of the float network's face
detections survive quantization and a narrow accumulator.

The network is the offline rebuild of the bundled trace (accsim_export.bundled: face-api's
TinyFaceDetector, weights to within their 8-bit rounding), run at 416x416, the input size
face-api itself uses. Being fully convolutional it takes any size; the bundled trace's
128x128 input only fixes what the trace recorded, not the network.

The photos all come from Debian's python3-skimage (scikit-image 0.19 ships them in
skimage/data, so nothing is downloaded; debian/copyright covers them with scikit-image's
BSD-3-Clause), in this order (``limit`` keeps the first ones):

- ``astronaut``: Eileen Collins' NASA portrait (public domain), one face;
- ``camera``: the cameraman (CC0, Lav Varshney), one face, in three-quarter view behind the
  camera;
- ``lfw-faces-1`` .. ``lfw-faces-6``: the 96 first faces of skimage's ``lfw_subset`` (faces
  from the news photos of the Labeled Faces in the Wild data set, which states no license of
  its own, cropped to 25x25 gray by scikit-image), 16 per image on a 4x4 grid, each upscaled
  to 72x72 with a gray margin around it: a group picture made of real faces, since no Debian
  package ships a real group photo;
- ``chelsea`` (the cat; CC0), ``coffee`` (CC0), ``rocket`` (SpaceX, public domain) and
  ``lfw-background`` (16 of lfw_subset's non-face crops on the same grid): no faces; the float
  network finds none, so whatever a run detects there counts as an extra detection.

Each photo is padded to a square with black at its top-left and resized bilinearly to
416x416, then normalized as face-api does (RGB minus its mean, over 255). The output (5
anchors x (x, y, w, h, score) per cell of the 13x13 grid) is decoded with face-api's own
decoding and non-maximum suppression (tools/nets/face_api.py; neither needs face-api's npm
package) at a score threshold of 0.3, below face-api's default of 0.5: the float network then
finds 93 faces (both real photos' and 91 of the 96 LFW faces) instead of 84, still with no
false detection and one box per face, and no score lies within 0.003 of the threshold.

Metric ``detections_kept``: the fraction of the float network's detections that the run
reproduces, a detection being kept when a box of the run on the same photo overlaps it with
IoU >= 0.5 (pairs matched greedily, highest IoU first, each box used once). Extra metrics:
``mean_abs_score_change`` (over the matched pairs; 0 when none matched) and
``extra_detections`` (the run's boxes left unmatched, false faces included).
"""
import functools

import numpy as np
import torch

from ..task import Score, Task, TaskUnavailable, register

SIZE = 416               # network input, pixels (13x13 output cells)
THRESHOLD = 0.3          # face score threshold (face-api's default, 0.5, finds 84 of the faces, not 93)
NMS_IOU = 0.4            # non-maximum suppression overlap (face-api's default)
MATCH_IOU = 0.5          # a float detection is kept when a box of the run overlaps it this much
LOGIT_CLIP = 50.0        # bound on the raw outputs before decoding (see _decode)

MOSAIC_GRID = 4          # lfw mosaics: 4x4 faces per image
MOSAIC_FACE = 72         # each face upscaled from 25x25 to this, centred in its 104-pixel cell
MOSAIC_GRAY = 128
LFW_FACE_IMAGES = 6      # 6 x 16 = the 96 first of lfw_subset's 100 faces

APT = "sudo apt-get install python3-skimage python3-pil"


def _require():
    """(PIL.Image, skimage.data), or TaskUnavailable saying what to install."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise TaskUnavailable(f"face-detector needs Pillow for its photos: {APT}") from exc
    try:
        import skimage.data as data
    except ImportError as exc:
        raise TaskUnavailable(f"face-detector needs scikit-image's bundled photos: {APT}") from exc
    return Image, data


def _load(data, name):
    try:
        return getattr(data, name)()
    except Exception as exc:  # a scikit-image without the bundled file would try to download it
        raise TaskUnavailable(f"face-detector: skimage.data.{name}() is not available offline "
                              f"(Debian's python3-skimage 0.19 ships it: {APT}): {exc}") from exc


def _square(Image, pixels: np.ndarray) -> np.ndarray:
    """face-api's toBatchTensor: the photo padded to a square with black at its top-left, resized
    bilinearly to SIZE x SIZE. HxWx3 float32 in 0..255."""
    img = Image.fromarray(np.asarray(pixels, np.uint8)).convert("RGB")
    w, h = img.size
    side = max(w, h)
    sq = Image.new("RGB", (side, side), (0, 0, 0))
    sq.paste(img, (0, 0))
    return np.asarray(sq.resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32)


def _mosaic(Image, crops: np.ndarray) -> np.ndarray:
    """Up to 16 of lfw_subset's 25x25 gray crops (floats in 0..1) on a 4x4 grid, SIZE x SIZE."""
    cell = SIZE // MOSAIC_GRID
    margin = (cell - MOSAIC_FACE) // 2
    canvas = Image.new("RGB", (SIZE, SIZE), (MOSAIC_GRAY,) * 3)
    for k, crop in enumerate(crops):
        face = Image.fromarray(np.round(crop * 255).astype(np.uint8))
        face = face.resize((MOSAIC_FACE, MOSAIC_FACE), Image.BICUBIC).convert("RGB")
        canvas.paste(face, ((k % MOSAIC_GRID) * cell + margin, (k // MOSAIC_GRID) * cell + margin))
    return np.asarray(canvas, dtype=np.float32)


@functools.lru_cache(maxsize=1)
def photos() -> tuple:
    """((name, SIZE x SIZE x 3 float32 image in 0..255), ...) in the task's order (built once)."""
    Image, data = _require()
    out = [("astronaut", _square(Image, _load(data, "astronaut"))),
           ("camera", _square(Image, _load(data, "camera")))]
    lfw = _load(data, "lfw_subset")  # 100 faces, then 100 non-faces
    per = MOSAIC_GRID * MOSAIC_GRID
    for i in range(LFW_FACE_IMAGES):
        out.append((f"lfw-faces-{i + 1}", _mosaic(Image, lfw[i * per:(i + 1) * per])))
    for name in ("chelsea", "coffee", "rocket"):
        out.append((name, _square(Image, _load(data, name))))
    out.append(("lfw-background", _mosaic(Image, lfw[100:100 + per])))
    for _, image in out:
        image.setflags(write=False)  # shared by every run: nobody may change them
    return tuple(out)


def preprocess(image: np.ndarray) -> torch.Tensor:
    """face-api's normalization: [1, 3, SIZE, SIZE], RGB minus the mean, over 255."""
    from nets.face_api import TinyFaceDetector  # tools/nets (PIL, torch; no npm package)
    return TinyFaceDetector.preprocess(image)


def _decode(out) -> list:
    """The network's output (a torch tensor or an array [1, 25, 13, 13]) to
    [[score, [x, y, w, h]]] (fractions of the input), NMS applied, best first. Outputs are
    clipped to +-LOGIT_CLIP first: a run corrupted by overflow may give huge values, whose
    exp() would make boxes infinite; real outputs stay far inside (|logit| < 20)."""
    from nets.face_api import TinyFaceDetector, non_max_suppression
    if isinstance(out, (tuple, list)):
        out = out[0]
    if isinstance(out, torch.Tensor):
        out = out.detach().cpu().numpy()
    out = np.nan_to_num(np.asarray(out, dtype=np.float64), nan=-LOGIT_CLIP)
    out = torch.from_numpy(np.clip(out, -LOGIT_CLIP, LOGIT_CLIP))
    if out.ndim != 4 or out.shape[:2] != (1, 25):
        raise ValueError(f"face-detector: expected an output [1, 25, H, W], got {list(out.shape)}")
    with np.errstate(over="ignore"):
        dets = non_max_suppression(TinyFaceDetector.detections(out, THRESHOLD), NMS_IOU)
    return [[float(s), [float(v) for v in box]] for s, box in dets]


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def match(reference: list, found: list, threshold: float = MATCH_IOU) -> list:
    """Greedy matching by IoU: [(i, j)] pairs of reference[i] and found[j] (each [score, box]),
    highest IoU first, each detection used at most once, only pairs with IoU >= threshold."""
    pairs = sorted(((iou(r[1], f[1]), i, j) for i, r in enumerate(reference) for j, f in enumerate(found)),
                   key=lambda p: (-p[0], p[1], p[2]))
    used_r, used_f, out = set(), set(), []
    for v, i, j in pairs:
        if v < threshold:
            break
        if i not in used_r and j not in used_f:
            used_r.add(i)
            used_f.add(j)
            out.append((i, j))
    return out


def compare(reference: dict, found: dict) -> Score:
    """Score of the detections ``found`` ({photo: [[score, box]]}) against the float network's
    ``reference`` (same form), over the photos in ``found``."""
    ref_count = kept = extra = 0
    changes = []
    for name, dets in found.items():
        if name not in reference:
            raise ValueError(f"face-detector: the reference has no detections for photo {name!r}")
        ref = reference[name]
        pairs = match(ref, dets)
        ref_count += len(ref)
        kept += len(pairs)
        extra += len(dets) - len(pairs)
        changes += [abs(dets[j][0] - ref[i][0]) for i, j in pairs]
    return Score(metric=kept / ref_count if ref_count else 1.0, examples=ref_count, details=found,
                 extra={"mean_abs_score_change": float(np.mean(changes)) if changes else 0.0,
                        "extra_detections": float(extra)})


@register
class FaceDetector(Task):
    name = "face-detector"
    metric = "detections_kept"
    higher_is_better = True
    description = ("face-api's tiny face detector at 416x416 on skimage's photos and LFW faces: "
                   "float detections kept (IoU >= 0.5)")
    weight_bits, act_bits = 8, 8
    # Leaky ReLU leaves small negative inputs: a zero point (as the bundled trace has) keeps
    # the 8-bit step fine; symmetric codes lose a bit. The plain W8A8 model keeps 97.8% of the
    # float detections this way, 91.4% with symmetric activations.
    activations = "asymmetric"

    def model(self):
        from accsim_export.bundled import tiny_face_detector
        model, _ = tiny_face_detector()
        return model.eval()

    def calibration(self) -> list:
        # Calibrated on the evaluation photos themselves: the metric is agreement with the
        # float network on these photos, not accuracy on unseen data, so there is nothing to
        # overfit, and the ranges are those the network really meets here.
        return [(preprocess(image),) for _, image in photos()]

    def evaluate(self, forward, reference=None, limit=None) -> Score:
        chosen = photos()
        if limit is not None:
            chosen = chosen[:limit]
        found = {}
        with torch.no_grad():
            for name, image in chosen:
                found[name] = _decode(forward(preprocess(image)))
        if reference is None:
            count = sum(len(d) for d in found.values())
            return Score(metric=1.0, examples=count, details=found,
                         extra={"mean_abs_score_change": 0.0, "extra_detections": 0.0})
        return compare(reference, found)
