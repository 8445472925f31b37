"""accsim_eval: what accumulator overflow costs a real network's task metric.

    import sys; sys.path[:0] = ["tools", "build/python"]
    from accsim_eval import evaluate, write_outputs, LoopModel
    result = evaluate("fashion-mnist", "10;12;14;16;32", weights=("plain", "a2q"))
    write_outputs(result, "out/fmnist")     # eval.json, eval.csv, eval.svg, eval.html

Command line: tools/accsim-eval --help. Tasks live in tasks/, one file each (task.py says what
a task provides); loop.py runs a quantized network with accsim's accumulators in the loop.
"""
from .evaluate import evaluate
from .loop import LoopModel, exact_gemm, im2col
from .outputs import write_outputs
from .task import Score, Task, TaskUnavailable, get_task, register, task_names

__all__ = ["LoopModel", "Score", "Task", "TaskUnavailable", "evaluate", "exact_gemm", "get_task", "im2col",
           "register", "task_names", "write_outputs"]
