"""Fashion-MNIST and a small CNN trained on it, for accsim-eval's "fashion-mnist" task.

The images come from the Debian package dataset-fashion-mnist (the four gzipped IDX files of
the original release, under /usr/share/datasets/fashion-mnist). The network is a plain
two-convolution CNN, about 1.1 million multiply-accumulates per image, with no batch norm, so
that every dot product is an nn.Conv2d or nn.Linear the exporter can quantize as it is. Its
weights are trained here, deterministically, by tools/nets/train_fashion_mnist.py and committed
as tools/nets/weights/fashion_mnist_cnn.npz with the settings and the float test accuracy in
fashion_mnist_cnn.json beside it.
"""
import gzip
import hashlib
import json
import os
import time
import zlib

import numpy as np
import torch
from torch import nn

DATA_DIR = "/usr/share/datasets/fashion-mnist"
PACKAGE = "dataset-fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
SIZES = {"train": 60000, "test": 10000}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
WEIGHTS = os.path.join(WEIGHTS_DIR, "fashion_mnist_cnn.npz")
RECORD = os.path.join(WEIGHTS_DIR, "fashion_mnist_cnn.json")

# IDX type codes (the third byte of the magic number) and the numpy types they name; the
# multi-byte types are big-endian.
_IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class IdxFormatError(ValueError):
    """An IDX file that is not one: a wrong magic number, a truncated or overlong body, or a
    gzip stream that does not decompress."""


def read_idx(path) -> np.ndarray:
    """The array in an IDX file (gzipped when the name ends in .gz), in its own dtype and
    shape. Raises FileNotFoundError when the file is absent and IdxFormatError when it is
    corrupt or truncated."""
    path = os.fspath(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except (EOFError, OSError, zlib.error) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise IdxFormatError(f"{path}: not a readable gzip stream ({e})") from e
    if len(data) < 4:
        raise IdxFormatError(f"{path}: {len(data)} bytes, too short for an IDX header")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES or data[3] == 0:
        raise IdxFormatError(f"{path}: bad IDX magic number {data[:4].hex()}")
    dtype, ndim = _IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise IdxFormatError(f"{path}: {len(data)} bytes where an IDX array of shape {shape} "
                             f"({dtype}) takes {expected}: {'truncated' if len(data) < expected else 'trailing data'}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def data_files(split: str, root: str | None = None) -> tuple:
    """The (images, labels) IDX paths of a split, "train" or "test"."""
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = DATA_DIR if root is None else root
    return tuple(os.path.join(root, name) for name in FILES[split])


def available(root: str | None = None) -> bool:
    return all(os.path.isfile(p) for s in FILES for p in data_files(s, root))


def load_split(split: str, root: str | None = None) -> tuple:
    """(images float32 [N, 1, 28, 28] in [0, 1], labels int64 [N]) of the "train" or "test"
    split, read from the IDX files under `root` (default: the Debian package's folder)."""
    images_path, labels_path = data_files(split, root)
    for p in (images_path, labels_path):
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{p} is missing: Fashion-MNIST comes from the Debian package {PACKAGE} "
                                    f"(apt-get install {PACKAGE})")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise IdxFormatError(f"{images_path}: expected uint8 images of 28x28, got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise IdxFormatError(f"{labels_path}: expected a uint8 vector of labels, got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise IdxFormatError(f"{images_path} holds {len(images)} images but {labels_path} {len(labels)} labels")
    if labels.size and labels.max() >= len(CLASSES):
        raise IdxFormatError(f"{labels_path}: label {int(labels.max())} outside 0..{len(CLASSES) - 1}")
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


class FashionCnn(nn.Module):
    """conv 1->16 3x3, ReLU, maxpool 2; conv 16->32 3x3, ReLU, maxpool 2; linear 1568->64,
    ReLU; linear 64->10. Per image: 112,896 + 903,168 + 100,352 + 640 = 1,117,056 MACs."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)
        self.relu1, self.relu2, self.relu3 = nn.ReLU(), nn.ReLU(), nn.ReLU()
        self.pool1, self.pool2 = nn.MaxPool2d(2), nn.MaxPool2d(2)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def weights_digest(state: dict) -> str:
    """SHA-256 of the float32 tensors of a state dict, by name in sorted order: the same for
    the same weights however the .npz around them was written."""
    h = hashlib.sha256()
    for name in sorted(state):
        a = np.ascontiguousarray(np.asarray(state[name], dtype=np.float32))
        h.update(name.encode() + b"\0" + repr(a.shape).encode() + b"\0" + a.tobytes())
    return h.hexdigest()


def load_model(path: str = WEIGHTS) -> FashionCnn:
    """FashionCnn with the committed weights, in eval mode."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is missing: run tools/nets/train_fashion_mnist.py to train it")
    model = FashionCnn()
    with np.load(path) as f:
        state = {k: torch.from_numpy(f[k].astype(np.float32)) for k in f.files}
    model.load_state_dict(state)
    return model.eval()


def load_record(path: str = RECORD) -> dict:
    """The training settings and float test accuracy recorded beside the weights."""
    with open(path) as f:
        return json.load(f)


@torch.no_grad()
def predict(forward, images, batch: int = 1000) -> np.ndarray:
    """argmax of forward(x) over the classes, batch by batch; forward may return a torch
    tensor or a numpy array."""
    out = []
    for i in range(0, len(images), batch):
        y = forward(images[i:i + batch])
        y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        out.append(np.argmax(y.reshape(len(y), -1), axis=1))
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def train(seed: int = 0, epochs: int = 5, batch_size: int = 32, lr: float = 1e-3, root: str | None = None,
          log=print) -> tuple:
    """Trains FashionCnn from scratch on the 60,000 training images with Adam, single-threaded
    and deterministic for a given seed. Returns (model in eval mode, settings dict)."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    x, y = load_split("train", root)
    model = FashionCnn()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    # The learning rate decays along a cosine to 0 over all the steps of all the epochs.
    steps = epochs * ((len(x) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = x[idx], y[idx]
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += len(idx)
            correct += int((out.argmax(1) == yb).sum())
            loss_sum += float(loss) * len(idx)
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {loss_sum / total:.4f}, train top-1 {correct / total:.4f}, "
                f"{time.time() - start:.0f} s")
    settings = {"seed": seed, "epochs": epochs, "batch_size": batch_size, "optimizer": "Adam",
                "lr": lr, "lr_schedule": "cosine to 0 over all steps", "loss": "cross-entropy",
                "train_images": len(x), "input": "pixels / 255, no normalization", "threads": 1,
                "torch": torch.__version__, "train_seconds": round(time.time() - start, 1)}
    return model.eval(), settings
