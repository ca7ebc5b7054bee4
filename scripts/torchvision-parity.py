#!/usr/bin/env python3
"""Reference outputs of torchvision 0.14's classifiers, for the TF.js ports' parity tests.

    python3 scripts/torchvision-parity.py OUTDIR [--archs resnet18 mobilenet_v2 ...] [--images 4]
                                                 [--data-dir ../shared/data] [--seed 1234]

For each architecture, with fixed seeds, builds the torchvision model (1000 classes, so the parameter
counts are torchvision's own) with random weights AND random batch-norm statistics, puts it in eval mode,
and runs a batch of real GTSRB test images through it. Random statistics matter: with torchvision's
initial ones (mean 0, var 1, weight 1, bias 0) a wrong epsilon, a transposed or swapped BN tensor would
go unnoticed.

    running_mean ~ N(0, 0.1), running_var ~ U(0.5, 1.5), BN weight ~ U(0.5, 1.5), BN bias ~ N(0, 0.1)
    conv weights ~ N(0, 2 / fan_in) (fan_in per group), linear weights ~ N(0, 1 / in_features), every conv /
    linear bias ~ N(0, 0.05): variance-preserving, so the features still depend on the image after the
    mismatched statistics (torchvision's fan-out init shrinks depthwise outputs by the channel count, and
    MobileNet's and EfficientNet's features then come out the same for every image)

Images: the first file (sorted by name) of gtsrb-test/<ClassId> for ClassIds 1, 14, 25, 38, ... (32x32
binary PPM, read with PIL as RGB), scaled to [0, 1], resized to 224x224 with
torch.nn.functional.interpolate(mode='bilinear', align_corners=False, antialias=False) -- half-pixel
centres, the same as tf.image.resizeBilinear(x, [224, 224], false, true) -- then normalised with the
ImageNet mean/std. The test is handed the already-resized input; raw.bin lets it check the resize too.

Raw interchange, all little-endian, no pickle (independent of any .pth reader):

    OUTDIR/input.bin     float32 [N, 224, 224, 3] (NHWC), the normalised batch
    OUTDIR/raw.bin       uint8   [N, 32, 32, 3], the images as read
    OUTDIR/input.json    {shape, rawShape, layout, images, classIds, resize, mean, std, torch, torchvision}
    OUTDIR/<arch>/weights.bin   float32, the state dict's tensors concatenated in state_dict() order
    OUTDIR/<arch>/weights.json  [{name, shape, offset}]   offset in bytes into weights.bin;
                                num_batches_tracked (int64 counters) left out
    OUTDIR/<arch>/logits.bin    float32 [N, 1000]
    OUTDIR/<arch>/features.bin  float32 [N, F], the input of the last Linear (forward pre-hook)
    OUTDIR/<arch>/outputs.json  {logits: shape, features: shape, lastLinear, params, seconds}
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

ARCHS = [
    "alexnet",
    "resnet18",
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "efficientnet_b0",
]

# The module whose input is the "features" (the last nn.Linear of the classifier).
LAST_LINEAR = {
    "alexnet": "classifier.6",
    "resnet18": "fc",
    "resnet50": "fc",
    "mobilenet_v2": "classifier.1",
    "mobilenet_v3_large": "classifier.3",
    "mobilenet_v3_small": "classifier.3",
    "efficientnet_b0": "classifier.1",
}

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
INPUT_SIZE = 224
CLASS_IDS = [1, 14, 25, 38, 3, 12, 17, 33]


def default_data_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("TS_SHARED_DATA", os.path.join(here, "..", "..", "shared", "data"))


def load_images(data_dir, n):
    """Returns (uint8 [N, 32, 32, 3], relative paths, class ids)."""
    if n < 1 or n > len(CLASS_IDS):
        sys.exit(f"--images must be between 1 and {len(CLASS_IDS)}")
    arrays, paths = [], []
    for class_id in CLASS_IDS[:n]:
        folder = os.path.join(data_dir, "gtsrb-test", str(class_id))
        names = sorted(f for f in os.listdir(folder) if f.endswith(".ppm"))
        if not names:
            sys.exit(f"no .ppm files in {folder}")
        with Image.open(os.path.join(folder, names[0])) as im:
            arrays.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
        paths.append(f"gtsrb-test/{class_id}/{names[0]}")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        sys.exit(f"images differ in size: {sorted(shapes)}")
    return np.stack(arrays), paths, CLASS_IDS[:n]


def preprocess(raw):
    """uint8 NHWC -> normalised float32 NCHW at 224x224 (see the module docstring)."""
    x = torch.from_numpy(raw.astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()
    x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=False)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


@torch.no_grad()
def randomise(model, generator):
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            # Kaiming fan-in (per group) rather than torchvision's fan-out: fan-out divides a depthwise
            # kernel by its channel count, so with fixed running statistics the signal would vanish in a few
            # blocks and every image would give the same features.
            fan_in = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
            m.weight.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=generator)
        elif isinstance(m, torch.nn.Linear):
            m.weight.normal_(0.0, (1.0 / m.weight.shape[1]) ** 0.5, generator=generator)
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.1, generator=generator)
            m.running_var.uniform_(0.5, 1.5, generator=generator)
            m.weight.uniform_(0.5, 1.5, generator=generator)
            m.bias.normal_(0.0, 0.1, generator=generator)
        elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
            m.bias.normal_(0.0, 0.05, generator=generator)


def write_f32(path, array):
    with open(path, "wb") as f:
        f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def run_arch(arch, index, x, out_dir, seed):
    start = time.time()
    torch.manual_seed(seed + index)
    model = getattr(torchvision.models, arch)(weights=None)
    randomise(model, torch.Generator().manual_seed(seed + 100 + index))
    model.eval()

    os.makedirs(out_dir, exist_ok=True)
    entries, offset = [], 0
    with open(os.path.join(out_dir, "weights.bin"), "wb") as f:
        for name, tensor in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            data = tensor.detach().cpu().contiguous().numpy().astype("<f4").tobytes()
            f.write(data)
            entries.append({"name": name, "shape": list(tensor.shape), "offset": offset})
            offset += len(data)
    with open(os.path.join(out_dir, "weights.json"), "w") as f:
        json.dump(entries, f)

    captured = {}
    last = dict(model.named_modules())[LAST_LINEAR[arch]]
    if not isinstance(last, torch.nn.Linear):
        sys.exit(f"{arch}: {LAST_LINEAR[arch]} is {type(last).__name__}, not Linear")
    handle = last.register_forward_pre_hook(lambda _m, inputs: captured.update(features=inputs[0].clone()))
    with torch.no_grad():
        logits = model(x)
    handle.remove()
    features = captured["features"]
    if not (torch.isfinite(logits).all() and torch.isfinite(features).all()):
        sys.exit(f"{arch}: non-finite outputs; the random statistics blew the activations up")

    write_f32(os.path.join(out_dir, "logits.bin"), logits.numpy())
    write_f32(os.path.join(out_dir, "features.bin"), features.numpy())
    summary = {
        "logits": list(logits.shape),
        "features": list(features.shape),
        "lastLinear": LAST_LINEAR[arch],
        "params": sum(p.numel() for p in model.parameters()),
        "top1": logits.argmax(dim=1).tolist(),
        "seconds": round(time.time() - start, 3),
    }
    with open(os.path.join(out_dir, "outputs.json"), "w") as f:
        json.dump(summary, f)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--archs", nargs="+", default=ARCHS, choices=ARCHS, metavar="ARCH")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    os.makedirs(args.outdir, exist_ok=True)
    raw, paths, class_ids = load_images(args.data_dir, args.images)
    x = preprocess(raw)
    with open(os.path.join(args.outdir, "raw.bin"), "wb") as f:
        f.write(np.ascontiguousarray(raw, dtype=np.uint8).tobytes())
    write_f32(os.path.join(args.outdir, "input.bin"), x.permute(0, 2, 3, 1).numpy())
    with open(os.path.join(args.outdir, "input.json"), "w") as f:
        json.dump(
            {
                "shape": [len(paths), INPUT_SIZE, INPUT_SIZE, 3],
                "rawShape": list(raw.shape),
                "layout": "NHWC",
                "images": paths,
                "classIds": class_ids,
                "resize": "torch.nn.functional.interpolate bilinear, align_corners=False, antialias=False",
                "mean": IMAGENET_MEAN,
                "std": IMAGENET_STD,
                "torch": torch.__version__,
                "torchvision": torchvision.__version__,
            },
            f,
        )

    for arch in args.archs:
        summary = run_arch(arch, ARCHS.index(arch), x, os.path.join(args.outdir, arch), args.seed)
        print(f"{arch}: params {summary['params']}, features {summary['features']}, "
              f"top-1 {summary['top1']}, {summary['seconds']} s", flush=True)


if __name__ == "__main__":
    main()
