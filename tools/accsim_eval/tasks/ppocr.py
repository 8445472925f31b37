"""PP-OCRv4's text recognizer reading the lines of a real photographed page.

The network is the SVTR neck (two transformer blocks, width 120, 8 heads) and the CTC head
(120 -> 6625 characters) of PaddleOCR's PP-OCRv4 recognizer, rebuilt by tools/nets/ppocr.py.
The data are the 7 text lines of the page photo that Debian's python3-skimage ships
(data/page.png): tools/nets/make_ocr_lines.py found them, ran the real convolutional backbone
on each (onnxruntime-node, once, with the npm cache) and stored its output, the neck's input,
with the neck and head weights in tools/nets/data/ppocr_lines.npz (tools/nets/data/README.md).
So the task needs only torch, numpy and that file.

Each line is its own batch (widths differ; padding would change the attention and so the
reading). The output is decoded greedily (CTC). The metric is the character error rate
against the float network's reading of the same lines (the `reference`): edit distances
summed over lines, over the reference's characters summed. Extra: line accuracy (lines read
exactly as the reference) and page_cer, the CER against the page's text as typed by hand.
"""
import os

import numpy as np

from nets.ppocr import edit_distance  # noqa: F401 (the tests take it from here too)

from ..task import Score, Task, TaskUnavailable, register

TOOLS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(TOOLS, "nets", "data", "ppocr_lines.npz")
CLASSES = 6625


def character_error_rate(readings, references) -> float:
    """Edit distances summed over the lines, divided by the references' characters summed
    (by 1 if the references are all empty, so that any character read is an error)."""
    edits = sum(edit_distance(r, t) for r, t in zip(readings, references, strict=True))
    return edits / max(1, sum(len(t) for t in references))


@register
class PpOcr(Task):
    name = "ppocr"
    metric = "cer"
    higher_is_better = False
    description = ("PP-OCRv4 text recognizer (SVTR neck + CTC head) on the 7 text lines of skimage's "
                   "photographed page; character error rate against the float network's reading")
    weight_bits, act_bits = 8, 8

    def __init__(self):
        self._data = None

    def data(self) -> dict:
        """The arrays of ppocr_lines.npz, loaded once."""
        if self._data is None:
            if not os.path.exists(DATA):
                raise TaskUnavailable(
                    f"{DATA} is missing: it is part of the repository; to rebuild it (npm and the "
                    f"network needed once): sudo apt-get install python3-skimage python3-onnx python3-pil "
                    f"nodejs npm && /usr/bin/python3 tools/nets/make_ocr_lines.py")
            with np.load(DATA, allow_pickle=False) as f:
                self._data = {k: f[k] for k in f.files}
        return self._data

    def lines(self) -> list:
        """The neck's inputs, one [1, 480, 1, W'] float32 tensor per line, top to bottom."""
        import torch

        d = self.data()
        return [torch.from_numpy(d[f"neck_input_{i}"].astype(np.float32)) for i in range(len(d["boxes"]))]

    def model(self):
        from nets.ppocr import SvtrNeckHead

        constants = {k[2:]: v for k, v in self.data().items() if k.startswith("w.")}
        return SvtrNeckHead(constants).eval()

    def calibration(self) -> list:
        """One batch: every line cut into windows as wide as the shortest line (the last window
        of a line ends at its end), so that every token of the page is seen in a real context.

        The evaluation lines themselves: the page has only these 7, and the metric compares
        with the float network's reading of the same lines, so calibrating on them keeps range
        clipping out of what the task measures (accumulator overflow and rounding). Windows
        rather than one batch per line because the exporter stacks the calibration batches and
        so needs them all of one shape; their ranges are within 0.9-1.1 of the union of the
        per-line ranges (the shortest line alone or the widest two would clip the attention
        probabilities of the others at half their range)."""
        import torch

        lines = self.lines()
        width = min(x.shape[-1] for x in lines)
        windows = []
        for x in lines:
            starts = list(range(0, x.shape[-1] - width + 1, width))
            if starts[-1] != x.shape[-1] - width:
                starts.append(x.shape[-1] - width)
            windows += [x[..., s:s + width] for s in starts]
        return [(torch.cat(windows, dim=0),)]

    def classes(self) -> list:
        from nets.ppocr import ctc_classes

        return ctc_classes(self.data()["keys_utf8"].tobytes().decode("utf-8"))

    def evaluate(self, forward, reference=None, limit=None) -> Score:
        import torch

        from nets.ppocr import ctc_decode

        lines = self.lines()[:limit]
        classes = self.classes()
        readings = []
        with torch.no_grad():
            for x in lines:
                out = forward(x)
                if isinstance(out, (tuple, list)):
                    out = out[0]
                if isinstance(out, torch.Tensor):
                    out = out.detach().cpu().numpy()
                # [1, W', classes] or the same flattened: argmax needs no softmax
                readings.append(ctc_decode(np.asarray(out, dtype=np.float64).reshape(-1, CLASSES), classes))
        page = [str(t) for t in self.data()["truth"][:len(readings)]]
        extra = {"page_cer": character_error_rate(readings, page)}
        if reference is None:
            return Score(metric=0.0, examples=len(readings), details=readings, extra=extra)
        reference = [str(t) for t in list(reference)[:len(readings)]]
        if len(reference) != len(readings):
            raise ValueError(f"ppocr: {len(reference)} reference lines for {len(readings)} lines read")
        extra["line_accuracy"] = float(np.mean([r == t for r, t in zip(readings, reference)])) if readings else 0.0
        return Score(metric=character_error_rate(readings, reference), examples=len(readings),
                     details=readings, extra=extra)
