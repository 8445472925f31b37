"""Fashion-MNIST: a small CNN (about 1.1 million MACs per image) trained in this repository,
scored by top-1 accuracy on the 10,000 test images of the Debian package dataset-fashion-mnist."""
import numpy as np

from nets import fashion_mnist as fm

from ..task import Score, Task, TaskUnavailable, register

_INSTALL = f"install {fm.PACKAGE} (apt-get install {fm.PACKAGE})"


def _split(split: str):
    if not fm.available():
        raise TaskUnavailable(f"fashion-mnist: the Fashion-MNIST images are not under {fm.DATA_DIR}: {_INSTALL}")
    return fm.load_split(split)


@register
class FashionMnist(Task):
    name = "fashion-mnist"
    metric = "top1"
    higher_is_better = True
    description = "Fashion-MNIST top-1 of a 2-conv, 2-linear CNN (1.1M MACs/image) on the 10,000 test images"
    weight_bits, act_bits = 8, 8

    calibration_images = 1000   # the first training images (never test images), ...
    calibration_batch = 500     # ... in batches of this many
    eval_batch = 1000

    def __init__(self):
        self._test = None

    def model(self):
        return fm.load_model().eval()

    def calibration(self) -> list:
        x, _ = _split("train")
        x = x[:self.calibration_images]
        return [(x[i:i + self.calibration_batch],) for i in range(0, len(x), self.calibration_batch)]

    def _test_split(self):
        if self._test is None:
            self._test = _split("test")
        return self._test

    def evaluate(self, forward, reference=None, limit=None) -> Score:
        x, y = self._test_split()
        if limit is not None:
            x, y = x[:limit], y[:limit]
        pred = fm.predict(forward, x, self.eval_batch)
        labels = y.numpy()
        correct = int((pred == labels).sum())
        extra = {}
        if isinstance(reference, dict) and "predictions" in reference and len(reference["predictions"]) >= len(pred):
            # How often this run picks the float model's class, right or wrong.
            extra["agreement_with_float"] = float(np.mean(pred == np.asarray(reference["predictions"])[:len(pred)]))
        return Score(metric=correct / len(labels) if len(labels) else 0.0, examples=len(labels),
                     details={"predictions": pred, "correct": correct}, extra=extra)
