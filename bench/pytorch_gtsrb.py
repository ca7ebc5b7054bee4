#!/usr/bin/python3
"""The PyTorch reference of bench/ACCURACY.md: a small CNN with batch normalisation on the same GTSRB data.

A plain script, as a user who writes Python would: all 6,450 gtsrb-train images (32x32 PPM) to train,
the track-disjoint gtsrb-test (1,290) to score. Shift/rotate/scale/brightness augmentation on the batch
(affine_grid), Adam with a one-cycle schedule, 25 epochs, 2 threads. Prints one JSON line.

  /usr/bin/python3 bench/pytorch_gtsrb.py [--epochs 25] [--channels 32] [--threads 2] [--seed 0] [--crop-roi]

--crop-roi crops every image (train and test) to its GTSRB region of interest from annotations/*.csv and
resizes it back to 32x32 (bilinear, half-pixel centres), as the studio's `import --crop-roi` does.

Needs Debian's python3-torch and python3-numpy (no torchvision).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("TS_SHARED_DATA", os.path.join(HERE, "..", "..", "shared", "data"))


def read_ppm(path):
    """Binary P6 with '#' comment lines in the header (OpenCV writes one)."""
    with open(path, "rb") as f:
        raw = f.read()
    fields, i = [], 0
    while len(fields) < 4:
        while raw[i : i + 1].isspace():
            i += 1
        if raw[i : i + 1] == b"#":
            i = raw.index(b"\n", i) + 1
            continue
        j = i
        while not raw[j : j + 1].isspace():
            j += 1
        fields.append(raw[i:j])
        i = j
    i += 1
    assert fields[0] == b"P6", path
    w, h = int(fields[1]), int(fields[2])
    return np.frombuffer(raw, np.uint8, w * h * 3, i).reshape(h, w, 3)


def read_rois(split):
    """Path (relative to the split folder) -> ROI (x1, y1, x2, y2) in the original image's pixels, and its size."""
    rois = {}
    with open(os.path.join(DATA, "annotations", f"{split}.csv")) as f:
        header = f.readline().strip().split(";")
        col = {name: i for i, name in enumerate(header)}
        for line in f:
            v = line.strip().split(";")
            if len(v) < len(header):
                continue
            rois[v[col["Path"]]] = tuple(
                float(v[col[k]]) for k in ("Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2")
            )
    return rois


def crop_roi(img, roi):
    """The studio's rule: scale the ROI to the stored file, round outwards, clamp; then resize back."""
    h, w = img.shape[:2]
    ow, oh, x1, y1, x2, y2 = roi
    sx, sy = w / ow, h / oh
    a = max(0, min(w - 1, math.floor(round(x1 * sx, 3))))
    b = max(0, min(h - 1, math.floor(round(y1 * sy, 3))))
    c = max(a + 1, min(w, math.ceil(round(x2 * sx, 3))))
    d = max(b + 1, min(h, math.ceil(round(y2 * sy, 3))))
    t = torch.from_numpy(np.ascontiguousarray(img[b:d, a:c])).permute(2, 0, 1)[None].float()
    out = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)
    return out[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def load(split, holdout_tracks=0, crop=False):
    """Images and labels of a split; with holdout_tracks, each class's last tracks are left out (a val split)."""
    xs, ys = [], []
    root = os.path.join(DATA, split)
    rois = read_rois(split) if crop else None
    for cls in sorted(os.listdir(root), key=int):
        names = sorted(n for n in os.listdir(os.path.join(root, cls)) if n.endswith(".ppm"))
        tracks = sorted({n.split("_")[0] for n in names})
        held = set(tracks[len(tracks) - holdout_tracks :]) if holdout_tracks else set()
        for name in names:
            if name.split("_")[0] not in held:
                img = read_ppm(os.path.join(root, cls, name))
                xs.append(crop_roi(img, rois[f"{cls}/{name}"]) if crop else img)
                ys.append(int(cls))
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 255.0
    return x, torch.tensor(ys)


def standardise(x):
    """Per-image, per-channel zero mean and unit variance (GTSRB's contrast varies a lot)."""
    m = x.mean(dim=(2, 3), keepdim=True)
    s = x.std(dim=(2, 3), keepdim=True).clamp_min(1e-2)
    return (x - m) / s


def net(channels, classes, bn=True):
    def conv(cin, cout):
        if not bn:
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    def block(cin, cout):
        return [*conv(cin, cout), *conv(cout, cout), nn.MaxPool2d(2)]

    c = channels
    return nn.Sequential(
        *block(3, c),
        *block(c, 2 * c),
        *block(2 * c, 4 * c),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(4 * c * 16, 256),
        nn.ReLU(inplace=True),
        nn.Dropout(0.25),
        nn.Linear(256, classes),
    )


def augment(x, g):
    """Random shift (+-10 %), rotation (+-15 deg), scale (+-10 %) and brightness (+-20 %) per image."""
    n = x.shape[0]
    ang = (torch.rand(n, generator=g) * 2 - 1) * math.radians(15)
    sc = 1 + (torch.rand(n, generator=g) * 2 - 1) * 0.1
    tx = (torch.rand(n, generator=g) * 2 - 1) * 0.2
    ty = (torch.rand(n, generator=g) * 2 - 1) * 0.2
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1).to(x.device)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    bright = 1 + (torch.rand(n, 1, 1, 1, generator=g) * 2 - 1) * 0.2
    return (out * bright.to(x.device)).clamp(0, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-bn", action="store_true", help="no batch normalisation (conv with bias)")
    ap.add_argument("--crop-roi", action="store_true", help="crop each image to its annotated region")
    ap.add_argument("--holdout-tracks", type=int, default=0, help="leave each class's last N tracks out of training")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (bench/gpu.sh, on a lent GPU machine)")
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)

    t0 = time.time()
    xtr, ytr = load("gtsrb-train", a.holdout_tracks, a.crop_roi)
    xte, yte = load("gtsrb-test", crop=a.crop_roi)
    xtr, ytr, xte, yte = xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev)
    load_s = time.time() - t0
    model = net(a.channels, 43, bn=not a.no_bn).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    steps = math.ceil(len(xtr) / a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.epochs * steps)

    t1 = time.time()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g).to(dev)
        for s in range(steps):
            idx = perm[s * a.batch : (s + 1) * a.batch]
            x = standardise(augment(xtr[idx], g))
            loss = F.cross_entropy(model(x), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}/{a.epochs} loss {loss.item():.3f} {time.time() - t1:.0f} s", file=sys.stderr)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    train_s = time.time() - t1

    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(standardise(xte[i : i + 256])).argmax(1) for i in range(0, len(xte), 256)])
    acc = (pred == yte).float().mean().item()
    print(
        json.dumps(
            {
                "model": f"small CNN {a.channels}-{2 * a.channels}-{4 * a.channels}{'' if a.no_bn else ' + BN'}, dense 256"
                + (", ROI crop" if a.crop_roi else ""),
                "epochs": a.epochs,
                "threads": a.threads,
                "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                "train_images": len(xtr),
                "load_seconds": round(load_s, 1),
                "train_seconds": round(train_s, 1),
                "test_accuracy": acc,
                "test_images": len(xte),
                "torch": torch.__version__,
                "load_average": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
