"""Training tools for the learned gaze redirector (never imported by the runtime package).

Modules, one concern each:
- render: procedural eye-region renderer drawing in the runtime's crop frame;
- data: synthetic pairs and real-clip crops as training batches;
- model: the warping network; losses: its objectives; train: the loop;
- export: ONNX export with metadata; evaluate: figures for the model card.
"""
