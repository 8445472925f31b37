"""fortune-lm: perplexity of a small byte-level transformer language model on held-out fortunes.

The network (tools/nets/fortune_lm.py) is a 2-layer decoder-only transformer trained here on
the Debian package `fortunes`, with attention's Q K^T and A V written as Matmul modules so that
every dot product, activation x activation included, goes through the accumulator. Quantized
W4A8 by default, as in the AXE paper's perplexity tables for W4A8 language models.

The full evaluation is the validation split (every 50th fortune, 302 entries, 52,225 bytes) cut
into 408 non-overlapping windows of 128 bytes: 52,224 predicted bytes, in batches of 32 windows.
"""
import math

import numpy as np
import torch

from ..task import Score, Task, TaskUnavailable, register

BATCH = 32
CALIBRATION_BATCHES, CALIBRATION_WINDOWS, CALIBRATION_SEED = 2, 16, 1234


def _net():
    from nets import fortune_lm
    return fortune_lm


def _corpus():
    net = _net()
    try:
        return net.load_corpus()
    except FileNotFoundError as e:
        raise TaskUnavailable(f"fortune-lm: {e}") from e   # names the package and the apt-get line


@register
class FortuneLm(Task):
    name = "fortune-lm"
    metric = "perplexity"
    higher_is_better = False
    description = "byte-level 2-layer transformer LM on held-out Debian fortunes, perplexity per byte (W4A8, as AXE)"
    weight_bits, act_bits = 4, 8

    def __init__(self):
        self._data = None

    def _stream(self):
        if self._data is None:
            self._data = _corpus()
        return self._data

    def model(self):
        return _net().load_model().eval()

    def calibration(self) -> list:
        """Two fixed batches of 16 training windows each (random offsets, seed 1234)."""
        corpus = self._stream()
        gen = torch.Generator().manual_seed(CALIBRATION_SEED)
        return [(_net().train_windows(corpus.train, CALIBRATION_WINDOWS, gen)[0],)
                for _ in range(CALIBRATION_BATCHES)]

    def evaluate(self, forward, reference=None, limit=None) -> Score:
        net = _net()
        x, y = net.eval_windows(self._stream().valid, limit=limit)
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(x), BATCH):
                logits = forward(x[i:i + BATCH])
                if isinstance(logits, (tuple, list)):
                    logits = logits[0]
                logits = np.asarray(logits.detach().cpu().numpy() if isinstance(logits, torch.Tensor) else logits)
                s, n = net.nll_sum(logits.reshape(-1, net.VOCAB), y[i:i + BATCH])
                total, count = total + s, count + n
        nll = total / count
        return Score(metric=math.exp(nll), examples=len(x),
                     details={"nll": nll, "predicted_tokens": count},
                     extra={"nll": nll, "bits_per_byte": nll / math.log(2)})
