"""A byte-level transformer language model trained on the Debian `fortunes` package, for
accsim-eval's "fortune-lm" task.

The text is every plain fortune database under /usr/share/games/fortunes (the .dat and .u8
files beside them are indexes and symbolic links and are skipped), read in sorted order. Each
file must decode as UTF-8 (errors="strict"); a file that does not is left out whole and named
in Corpus.skipped, so that no replacement characters enter the text. Entries are the runs of
lines between lines holding only "%"; blank lines around an entry are dropped, empty entries
are dropped, and an entry whose text already appeared earlier (in any file) is dropped too, so
that the same fortune cannot land in both splits. Every SPLIT_EVERY-th remaining entry (indexes
SPLIT_EVERY-1, 2*SPLIT_EVERY-1, ...) goes to the validation split, the rest to training. Each
split is one byte stream: the UTF-8 bytes of its entries, each followed by "\\n%\\n". The
vocabulary is the 256 byte values.

The network is a small decoder-only transformer (pre-LayerNorm, learned positions, context
128 bytes, 2 layers, d_model 128, 4 heads, MLP 4x with GELU, untied output layer) whose every
dot product is an nn.Linear or an accsim_export.Matmul (attention's Q K^T and A V, one module
per use), so the exporter can quantize all of it. Its weights are trained here,
deterministically, by tools/nets/train_fortune_lm.py and committed as float16 in
tools/nets/weights/fortune_lm.npz, with the settings and the measured validation perplexity of
those float16 weights in fortune_lm.json beside it.
"""
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from accsim_export import Matmul

DATA_DIR = "/usr/share/games/fortunes"
PACKAGE = "fortunes"
SPLIT_EVERY = 50          # every 50th entry is validation: about 56 kB, a few hundred windows
SEPARATOR = "\n%\n"       # what follows each entry in a split's byte stream
VOCAB = 256
CONTEXT = 128

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
WEIGHTS = os.path.join(WEIGHTS_DIR, "fortune_lm.npz")
RECORD = os.path.join(WEIGHTS_DIR, "fortune_lm.json")


@dataclass
class Corpus:
    train: np.ndarray                 # uint8 byte stream of the training entries
    valid: np.ndarray                 # uint8 byte stream of the validation entries
    train_entries: list               # the entries' texts, in order
    valid_entries: list
    files: list                       # the databases read, in order
    skipped: list = field(default_factory=list)   # databases left out (not valid UTF-8)
    duplicates: int = 0               # entries dropped because their text came earlier
    package_version: str | None = None

    def digest(self) -> dict:
        """sha256 of each split's byte stream: tells whether a differently packaged corpus is in use."""
        return {"train": hashlib.sha256(self.train.tobytes()).hexdigest(),
                "valid": hashlib.sha256(self.valid.tobytes()).hexdigest()}


def package_version(package: str = PACKAGE) -> str | None:
    """The installed version of a Debian package, from dpkg's status file (None if unknown)."""
    try:
        with open("/var/lib/dpkg/status", encoding="utf-8", errors="replace") as f:
            stanza = {}
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    if stanza.get("Package") == package and "installed" in stanza.get("Status", ""):
                        return stanza.get("Version")
                    stanza = {}
                elif not line[0].isspace() and ":" in line:
                    key, _, value = line.partition(":")
                    stanza[key] = value.strip()
            if stanza.get("Package") == package and "installed" in stanza.get("Status", ""):
                return stanza.get("Version")
    except OSError:
        pass
    return None


def fortune_files(data_dir: str = DATA_DIR) -> list:
    """The plain fortune databases in data_dir, sorted: regular files (not links), no extension
    index files (.dat) or UTF-8 links (.u8), no subdirectories (such as an `off` one)."""
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"{data_dir} is missing: install the Debian package `{PACKAGE}` "
                                f"(apt-get install {PACKAGE})")
    names = []
    for name in sorted(os.listdir(data_dir)):
        path = os.path.join(data_dir, name)
        if name.endswith((".dat", ".u8")) or os.path.islink(path) or not os.path.isfile(path):
            continue
        names.append(name)
    if not names:
        raise FileNotFoundError(f"no fortune databases in {data_dir}: install the Debian package `{PACKAGE}` "
                                f"(apt-get install {PACKAGE})")
    return names


def split_entries(text: str) -> list:
    """The entries of one fortune database: the texts between lines holding only "%"."""
    entries, lines = [], []
    for line in text.split("\n") + ["%"]:
        if line.rstrip("\r") == "%":
            entry = "\n".join(lines).strip("\n")
            if entry.strip():
                entries.append(entry)
            lines = []
        else:
            lines.append(line)
    return entries


def _stream(entries) -> np.ndarray:
    data = "".join(e + SEPARATOR for e in entries).encode("utf-8")
    return np.frombuffer(data, dtype=np.uint8).copy()


def load_corpus(data_dir: str = DATA_DIR, split_every: int = SPLIT_EVERY) -> Corpus:
    """Reads the fortunes and splits them by entry (see the module's docstring)."""
    files, skipped, entries, seen, duplicates = [], [], [], set(), 0
    for name in fortune_files(data_dir):
        with open(os.path.join(data_dir, name), "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            skipped.append(name)
            continue
        files.append(name)
        for entry in split_entries(text):
            if entry in seen:
                duplicates += 1
                continue
            seen.add(entry)
            entries.append(entry)
    train = [e for i, e in enumerate(entries) if i % split_every != split_every - 1]
    valid = [e for i, e in enumerate(entries) if i % split_every == split_every - 1]
    return Corpus(train=_stream(train), valid=_stream(valid), train_entries=train, valid_entries=valid,
                  files=files, skipped=skipped, duplicates=duplicates,
                  package_version=package_version() if data_dir == DATA_DIR else None)


def eval_windows(stream: np.ndarray, context: int = CONTEXT, limit: int | None = None):
    """Non-overlapping windows over a byte stream: inputs [N, context] and their next-byte
    targets [N, context] (int64). Window i reads stream[i*context : (i+1)*context] and predicts
    stream[i*context+1 : (i+1)*context+1]; the tail that does not fill a window is dropped."""
    n = (len(stream) - 1) // context
    if limit is not None:
        n = min(n, int(limit))
    data = torch.from_numpy(stream[:n * context + 1].astype(np.int64))
    x = data[:n * context].reshape(n, context)
    y = data[1:n * context + 1].reshape(n, context)
    return x, y


def train_windows(stream: np.ndarray, count: int, generator: torch.Generator, context: int = CONTEXT):
    """`count` windows at random offsets in a byte stream, drawn with `generator`: (inputs, targets)."""
    starts = torch.randint(0, len(stream) - context - 1, (count,), generator=generator)
    data = torch.from_numpy(stream.astype(np.int64))
    idx = starts[:, None] + torch.arange(context + 1)[None, :]
    w = data[idx]
    return w[:, :-1], w[:, 1:]


def perplexity(logits, targets) -> float:
    """exp(mean cross-entropy) in float64 numpy; logits [..., vocab], targets [...] (torch or numpy)."""
    return float(np.exp(mean_nll(logits, targets)))


def mean_nll(logits, targets) -> float:
    """Mean negative log-likelihood (nats) of the targets under the logits, in float64 numpy."""
    nll, n = nll_sum(logits, targets)
    return nll / n


def nll_sum(logits, targets):
    """(sum of the negative log-likelihoods in float64, number of predictions)."""
    if isinstance(logits, torch.Tensor):
        logits = logits.detach().cpu().numpy()
    if isinstance(targets, torch.Tensor):
        targets = targets.detach().cpu().numpy()
    z = np.asarray(logits, dtype=np.float64).reshape(-1, np.shape(logits)[-1])
    t = np.asarray(targets).reshape(-1).astype(np.int64)
    if len(t) != len(z):
        raise ValueError(f"perplexity: {len(z)} predictions but {len(t)} targets")
    m = z.max(axis=1, keepdims=True)
    logsumexp = (m[:, 0] + np.log(np.exp(z - m).sum(axis=1)))
    return float((logsumexp - z[np.arange(len(t)), t]).sum()), len(t)


class Attention(nn.Module):
    """Causal multi-head self-attention: a fused qkv Linear, Q K^T and A V as two distinct
    Matmul modules, the causal mask added to the scores before the softmax, 1/sqrt(d_head)
    applied to q before the product, and an output Linear."""

    def __init__(self, d_model: int, heads: int, context: int):
        super().__init__()
        if d_model % heads:
            raise ValueError("d_model must be a multiple of heads")
        self.heads, self.d_head = heads, d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.scores = Matmul()
        self.mix = Matmul()
        self.proj = nn.Linear(d_model, d_model)
        mask = torch.full((context, context), float("-inf")).triu(1)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=-1)
        q = q.view(b, t, self.heads, self.d_head).transpose(1, 2) * (1.0 / math.sqrt(self.d_head))
        k = k.view(b, t, self.heads, self.d_head).transpose(1, 2)
        v = v.view(b, t, self.heads, self.d_head).transpose(1, 2)
        s = self.scores(q, k.transpose(-2, -1)) + self.mask[:t, :t]
        a = torch.softmax(s, dim=-1)
        y = self.mix(a, v).transpose(1, 2).reshape(b, t, c)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, d_model: int, heads: int, context: int, mlp_ratio: int = 4):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, heads, context)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, mlp_ratio * d_model)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(mlp_ratio * d_model, d_model)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))


class FortuneLM(nn.Module):
    """Byte-level causal transformer: int64 tokens [B, T] (T <= context) -> logits [B, T, vocab]."""

    def __init__(self, vocab: int = VOCAB, context: int = CONTEXT, d_model: int = 128, layers: int = 2,
                 heads: int = 4):
        super().__init__()
        self.vocab, self.context, self.d_model = vocab, context, d_model
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList([Block(d_model, heads, context) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)
        self.register_buffer("positions", torch.arange(context), persistent=False)
        self._init(layers)

    def _init(self, layers):
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("proj.weight", "fc2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith(".bias") and "ln" not in name:
                nn.init.zeros_(p)

    def forward(self, tokens):
        t = tokens.shape[1]
        if t > self.context:
            raise ValueError(f"FortuneLM: {t} tokens, the context is {self.context}")
        x = self.tok(tokens) + self.pos(self.positions[:t])
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def macs_per_token(model: FortuneLM, t: int = CONTEXT) -> dict:
    """Multiply-accumulates per token at sequence length t, as the captured layers compute them
    (the Matmul layers compute every score, masked ones included)."""
    linear = sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))
    matmul = sum(2 * t * model.d_model for _ in model.blocks)
    return {"linear": linear, "matmul": matmul, "total": linear + matmul}


def evaluate(forward, stream: np.ndarray, limit: int | None = None, batch_size: int = 32):
    """Perplexity of `forward` (tokens -> logits, torch or numpy) over the non-overlapping
    windows of a stream: (perplexity, mean nll, windows, predictions)."""
    x, y = eval_windows(stream, limit=limit)
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            s, n = nll_sum(forward(x[i:i + batch_size]), y[i:i + batch_size])
            total, count = total + s, count + n
    nll = total / count
    return math.exp(nll), nll, len(x), count


def save_weights(model: nn.Module, path: str = WEIGHTS):
    """The state dict as float16 arrays in a compressed npz."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    arrays = {k: v.detach().cpu().numpy().astype(np.float16) for k, v in model.state_dict().items()}
    np.savez_compressed(path, **arrays)


def load_model(path: str = WEIGHTS) -> FortuneLM:
    """FortuneLM with the committed float16 weights, cast to float32, in eval mode."""
    model = FortuneLM()
    with np.load(path) as z:
        state = {k: torch.from_numpy(z[k].astype(np.float32)) for k in z.files}
    model.load_state_dict(state)
    return model.eval()


def load_record(path: str = RECORD) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def train(seed: int = 0, steps: int = 4000, batch_size: int = 16, lr: float = 5e-3, warmup: int = 100,
          weight_decay: float = 0.01, corpus: Corpus | None = None, log=print):
    """Trains FortuneLM from scratch on random training windows, deterministically (fixed seed,
    one thread, deterministic algorithms; the process's settings are restored afterwards):
    AdamW, linear warmup then cosine decay to lr/10. Returns (model in eval mode, settings dict)."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        return _train(seed, steps, batch_size, lr, warmup, weight_decay, corpus or load_corpus(), log)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _train(seed, steps, batch_size, lr, warmup, weight_decay, corpus, log):
    torch.manual_seed(seed)
    model = FortuneLM()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith(("tok.", "pos."))]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.startswith(("tok.", "pos.")))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": other, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.99))

    def lr_at(step):
        if step < warmup:
            return lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    gen = torch.Generator().manual_seed(seed)
    start = time.time()
    model.train()
    running = None
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x, y = train_windows(corpus.train, batch_size, gen)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = float(loss) if running is None else 0.98 * running + 0.02 * float(loss)
        if log and ((step + 1) % 250 == 0 or step + 1 == steps):
            log(f"step {step + 1}/{steps}: train loss {running:.4f} (ppl {math.exp(running):.3f}), "
                f"{time.time() - start:.0f} s")
    settings = {"seed": seed, "steps": steps, "batch_size": batch_size, "context": CONTEXT,
                "optimizer": "AdamW", "betas": [0.9, 0.99], "lr": lr, "weight_decay": weight_decay,
                "lr_schedule": f"linear warmup {warmup} steps, cosine to lr/10",
                "grad_clip": 1.0, "loss": "cross-entropy over all 128 positions",
                "training_tokens": steps * batch_size * CONTEXT, "threads": 1,
                "deterministic_algorithms": True, "torch": torch.__version__,
                "train_seconds": round(time.time() - start, 1)}
    return model.eval(), settings
