#!/usr/bin/env python3
"""An ONNX model written by PyTorch itself, with its reference features, for the ONNX feature-extractor tests.

    python3 scripts/make-onnx-fixtures.py OUTDIR [--images 4] [--data-dir ../shared/data] [--seed 1234]

Builds torchvision's resnet18() (random weights drawn with the seed as scripts/torchvision-parity.py draws
them: random batch-norm statistics, so that a dropped or misfolded BN shows, and variance-preserving
weights, so that the features depend on the image; eval mode) and exports it with torch.onnx.export: opset 13, input `input`
float32 [batch, 3, 224, 224] (NCHW) with a dynamic batch axis, output `logits` [batch, 1000]. Then runs the
same real GTSRB test images as scripts/torchvision-parity.py (its load_images and preprocess: RGB / 255,
bilinear resize to 224 with half-pixel centres, ImageNet mean/std) through the PyTorch model and records
the input of `fc` (the flattened average pool, 512 values) and the logits.

Files, all little-endian raw float32 (no pickle, no numpy format to parse):

    OUTDIR/resnet18.onnx   the exported model
    OUTDIR/input.bin       float32 [N, 224, 224, 3] NHWC, the normalised batch (what the studio feeds)
    OUTDIR/features.bin    float32 [N, 512], input of fc
    OUTDIR/logits.bin      float32 [N, 1000]
    OUTDIR/fixtures.json   {images, input, features, logits (shapes), opset, torch, torchvision, seconds}
"""
import argparse
import importlib.util
import json
import os
import time

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13


def parity_module():
    """scripts/torchvision-parity.py (a file name Python cannot import by name)."""
    spec = importlib.util.spec_from_file_location("torchvision_parity", os.path.join(HERE, "torchvision-parity.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_f32(path, array):
    with open(path, "wb") as f:
        f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    start = time.time()
    parity = parity_module()
    data_dir = args.data_dir or parity.default_data_dir()

    os.makedirs(args.outdir, exist_ok=True)
    raw, paths, class_ids = parity.load_images(data_dir, args.images)
    x = parity.preprocess(raw)  # NCHW

    torch.manual_seed(args.seed)
    model = torchvision.models.resnet18(weights=None)
    # The parity script's draw: random BN statistics and variance-preserving weights (see its docstring).
    parity.randomise(model, torch.Generator().manual_seed(args.seed + 1))
    model.eval()

    captured = {}
    handle = model.fc.register_forward_pre_hook(lambda _m, inputs: captured.update(features=inputs[0].clone()))
    with torch.no_grad():
        logits = model(x)
    handle.remove()
    features = captured["features"]

    onnx_path = os.path.join(args.outdir, "resnet18.onnx")
    torch.onnx.export(
        model,
        torch.zeros(1, 3, parity.INPUT_SIZE, parity.INPUT_SIZE),
        onnx_path,
        opset_version=OPSET,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )

    write_f32(os.path.join(args.outdir, "input.bin"), x.permute(0, 2, 3, 1).numpy())
    write_f32(os.path.join(args.outdir, "features.bin"), features.numpy())
    write_f32(os.path.join(args.outdir, "logits.bin"), logits.numpy())
    summary = {
        "images": paths,
        "classIds": class_ids,
        "input": [len(paths), parity.INPUT_SIZE, parity.INPUT_SIZE, 3],
        "features": list(features.shape),
        "logits": list(logits.shape),
        "top1": logits.argmax(dim=1).tolist(),
        "opset": OPSET,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "seconds": round(time.time() - start, 3),
    }
    with open(os.path.join(args.outdir, "fixtures.json"), "w") as f:
        json.dump(summary, f)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
