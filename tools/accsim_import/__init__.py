"""accsim-import: quantized ONNX models (QONNX from Brevitas/QKeras/FINN, ONNX QDQ and
QOperator) as accsim traces, executed with numpy and checked against the models' own
arithmetic. See tools/README.md and README.md ("Importing quantized ONNX models").

    from accsim_import import import_model
    r = import_model("TFC_2W2A.onnx", ["digit.npy"], out="tfc.trace")
"""
from .importer import ImportResult, import_model, run_model  # noqa: F401
from .node import ImportInputError  # noqa: F401
