#!/usr/bin/python3
"""Trains the Fashion-MNIST CNN of accsim-eval's "fashion-mnist" task and writes its weights
(tools/nets/weights/fashion_mnist_cnn.npz, the state dict as float32 arrays) and the record
beside them (fashion_mnist_cnn.json: the training settings, the float test accuracy and a
digest of the weights). Deterministic for a given seed on one thread; a few minutes on one core.

    /usr/bin/python3 tools/nets/train_fashion_mnist.py [--epochs N] [--seed S]

Needs the Debian package dataset-fashion-mnist.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nets import fashion_mnist as fm  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--out", default=fm.WEIGHTS, help="the .npz to write (the .json goes beside it)")
    a = p.parse_args(argv)

    model, settings = fm.train(seed=a.seed, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr)
    state = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    np.savez(a.out, **state)

    # Measure on the weights as written and read back, as the task will see them.
    model = fm.load_model(a.out)
    x, y = fm.load_split("test")
    pred = fm.predict(model, x)
    correct = int((pred == y.numpy()).sum())
    record = {"model": "FashionCnn (tools/nets/fashion_mnist.py)",
              "macs_per_image": 1117056,
              "parameters": int(sum(v.size for v in state.values())),
              "training": settings,
              "float_test_top1": correct / len(y),
              "float_test_correct": correct,
              "test_images": len(y),
              "weights_sha256": fm.weights_digest(state)}
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes); training took {settings['train_seconds']} s")
    print(f"float test top-1: {correct / len(y):.4f} ({correct}/{len(y)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
