"""What a task is: a real network, its real data and how to score it.

accsim-eval runs a task's network several ways (the float model, the exactly quantized model,
and the quantized model with every dot product through an accsim accumulator) and asks the
task to score each run. One file per task in tasks/, each registering itself:

    from ..task import Score, Task, register

    @register
    class FashionMnist(Task):
        name = "fashion-mnist"
        metric = "top1"                 # what Score.metric measures
        higher_is_better = True
        weight_bits, act_bits = 8, 8    # the default quantization (--weight-bits, --act-bits)

        def model(self):                # the float nn.Module, eval mode, built offline
            ...
        def calibration(self):          # input batches for the quantizer's ranges
            ...
        def evaluate(self, forward, reference=None, limit=None):
            ...                         # forward(*inputs) -> the model's output, per batch
            return Score(metric=0.91, examples=10000, details=...)

`evaluate` feeds its own data, batch by batch, through `forward` (which runs the float model,
the quantized one, or the one in the loop) and scores what comes back. `reference` is the
Score.details of the float model's own evaluation, for tasks scored against the float
network's outputs (text read by the float recognizer, boxes found by the float detector);
`limit` caps the examples (tests and quick runs take the first `limit`). Nothing may be
downloaded: data and weights come from Debian packages, files in the repository, or a cache
filled by an explicit preparation step.
"""
from dataclasses import dataclass, field
from typing import Any, Callable

_TASKS: dict = {}


class TaskUnavailable(RuntimeError):
    """The task cannot run here (a Debian package or a prepared cache is missing); the
    message says what to install or run."""


@dataclass
class Score:
    metric: float               # the task's metric on this run
    examples: int               # how many examples it covers
    details: Any = None         # what evaluate() needs back as `reference`, and extra numbers
    extra: dict = field(default_factory=dict)  # more metrics by name (floats), reported beside


class Task:
    name: str = ""
    metric: str = ""
    higher_is_better: bool = True
    description: str = ""
    weight_bits: int = 8
    act_bits: int = 8
    activations: str = "symmetric"   # the exporter's option for signed layer inputs

    def model(self):
        raise NotImplementedError

    def calibration(self) -> list:
        raise NotImplementedError

    def evaluate(self, forward: Callable, reference: Any = None, limit: int | None = None) -> Score:
        raise NotImplementedError


def register(cls):
    if not cls.name or cls.name in _TASKS:
        raise ValueError(f"task {cls.__name__}: missing or duplicate name {cls.name!r}")
    _TASKS[cls.name] = cls
    return cls


def task_names() -> list:
    from . import tasks  # noqa: F401  (the task files register themselves on import)
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    names = task_names()
    if name not in _TASKS:
        raise KeyError(f"unknown task {name!r} (known: {', '.join(names)})")
    return _TASKS[name]()
