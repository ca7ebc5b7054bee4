#!/usr/bin/env python3
"""PyTorch's side of bench/backbones.ts: the same torchvision architecture, input and batch.

    /usr/bin/python3 bench/pytorch_backbones.py --arch resnet18 --input 224 --batch 8 --json

features: eval mode, no_grad, forward to the input of the last Linear (torch.nn.Identity in its place), with
--feature-threads threads. step: a new 43-way head, every parameter trainable, batch norm in eval mode (as
the studio fine-tunes), cross-entropy, backward and one Adam step, with --step-threads threads. Best of
--runs after one warm-up; ms per image. Random weights: speed does not depend on their values.
"""
import argparse
import json
import resource
import time

import torch
import torchvision


def last_linear(model):
    name = None
    for n, m in model.named_modules():
        if isinstance(m, torch.nn.Linear):
            name = n
    return name


def set_module(model, name, new):
    parts = name.split(".")
    parent = model
    for p in parts[:-1]:
        parent = getattr(parent, p)
    setattr(parent, parts[-1], new)


def best(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--input", type=int, default=224)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--feature-threads", type=int, default=2)
    ap.add_argument("--step-threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.manual_seed(0)
    x = torch.randn(a.batch, 3, a.input, a.input)
    y = torch.randint(0, 43, (a.batch,))

    model = getattr(torchvision.models, a.arch)()
    head = last_linear(model)
    features = getattr(torchvision.models, a.arch)()
    set_module(features, head, torch.nn.Identity())
    features.eval()
    torch.set_num_threads(a.feature_threads)
    with torch.no_grad():
        f_s = best(lambda: features(x), a.runs)

    old = dict(model.named_modules())[head]
    set_module(model, head, torch.nn.Linear(old.in_features, 43))
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    torch.set_num_threads(a.step_threads)
    s_s = best(step, a.runs)
    out = {
        "arch": a.arch,
        "input": a.input,
        "batch": a.batch,
        "torch": torch.__version__,
        "features_ms_per_img": f_s * 1000 / a.batch,
        "feature_threads": a.feature_threads,
        "step_ms_per_img": s_s * 1000 / a.batch,
        "step_threads": a.step_threads,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(out) if a.json else out)


if __name__ == "__main__":
    main()
