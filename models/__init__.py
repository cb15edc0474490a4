"""Model building: turn registry packages into ONNX encoders the service can run.

Only this package imports the heavy build tools (onnx, and torch for training); serving needs
onnxruntime + tokenizers alone.
"""
