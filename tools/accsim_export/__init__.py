"""accsim_export: turn a PyTorch model and real inputs into an accsim trace.

    import sys; sys.path.insert(0, "tools")
    from accsim_export import export_trace, ExportConfig
    report = export_trace(model, batch, "mynet.trace", model_name="mynet",
                          source="where the weights and inputs came from",
                          config=ExportConfig(weight_bits=8, act_bits=8, acc_bits=None))
    print(report.summary())

Command line: /usr/bin/python3 tools/accsim-export --help
"""
from .capture import UnsupportedLayerError
from .export import ExportConfig, ExportReport, QuantizedModel, export_trace, quantize
from .modules import Matmul, PaddedConv2d, tf_same_padding

__all__ = ["ExportConfig", "ExportReport", "Matmul", "PaddedConv2d", "QuantizedModel", "UnsupportedLayerError",
           "export_trace", "quantize", "tf_same_padding"]
