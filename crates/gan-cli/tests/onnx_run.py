"""Runs a generator exported by `gan export` in onnxruntime, for tests/onnx_export.rs.

Usage: onnx_run.py MODEL.onnx LATENTS.npy OUT_DIR [CLASS]

Feeds the latents (float32 [N, latent_dim]; with CLASS, a conditional model's `class`
input is CLASS for every row) in batches of N, 1 and 5 (the batch axis is dynamic) and
writes each batching's outputs, concatenated, to OUT_DIR/onnx-bN.npy, OUT_DIR/onnx-b1.npy
and OUT_DIR/onnx-b5.npy. Prints the model's inputs and outputs (names, shapes, types) as
one line of JSON. The comparison with `gan generate` is the Rust test's.
"""

import json
import sys

import numpy as np
import onnxruntime as ort


def main():
    model, latents, out = sys.argv[1:4]
    cls = int(sys.argv[4]) if len(sys.argv) > 4 else None
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    z = np.load(latents)
    assert z.dtype == np.float32, z.dtype

    def run(rows):
        feed = {"z": z[rows]}
        if cls is not None:
            feed["class"] = np.full(len(feed["z"]), cls, dtype=np.int64)
        return sess.run(["images"], feed)[0]

    n = len(z)
    for bs, name in ((n, "N"), (1, "1"), (5, "5")):
        parts = [run(slice(s, s + bs)) for s in range(0, n, bs)]
        np.save(f"{out}/onnx-b{name}.npy", np.concatenate(parts).astype(np.float32))
    io = lambda vs: [[v.name, v.shape, v.type] for v in vs]
    meta = sess.get_modelmeta().custom_metadata_map
    print(json.dumps({"inputs": io(sess.get_inputs()), "outputs": io(sess.get_outputs()), "metadata": meta}))


if __name__ == "__main__":
    main()
