#!/usr/bin/python3
"""PyTorch reference for the engine benchmarks: the same AlexNet (BVLC layout, 2-group conv2/4/5, LRN) on the
same batch as bench/engine.ts, on this machine's CPU threads.

Run with Debian's python3-torch (+ libopenblas0-pthread):
    /usr/bin/python3 bench/pytorch_alexnet.py --batch 32 --threads 2 --json
Prints one JSON object: forward (to fc7) and full train-step milliseconds per image, for each model size asked.
"""
import argparse
import json
import time

import torch
import torch.nn as nn


def alexnet(num_classes: int, width: float = 1.0, fc_units: int = 4096, input_size: int = 227) -> nn.Sequential:
    c = lambda n: max(2, int(round(n * width / 2)) * 2)  # even, so 2 groups split cleanly
    c1, c2, c3, c4, c5 = c(96), c(256), c(384), c(384), c(256)
    lrn = lambda: nn.LocalResponseNorm(size=5, alpha=2e-5 * 5, beta=0.75, k=1.0)
    features = nn.Sequential(
        nn.Conv2d(3, c1, 11, stride=4, padding=4), nn.ReLU(inplace=True), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c1, c2, 5, padding=2, groups=2), nn.ReLU(inplace=True), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c3, c4, 3, padding=1, groups=2), nn.ReLU(inplace=True),
        nn.Conv2d(c4, c5, 3, padding=1, groups=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Flatten(),
    )
    with torch.no_grad():
        flat = features(torch.zeros(1, 3, input_size, input_size)).shape[1]
    return nn.Sequential(
        features,
        nn.Linear(flat, fc_units), nn.ReLU(inplace=True),
        nn.Linear(fc_units, fc_units), nn.ReLU(inplace=True),
        nn.Linear(fc_units, num_classes),
    )


def time_it(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--sizes', default='full', help='comma list of full|reduced')
    ap.add_argument('--json', action='store_true')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    configs = {
        'full': dict(width=1.0, fc_units=4096, input_size=227),
        'reduced': dict(width=0.25, fc_units=256, input_size=67),
    }
    results = []
    for name in args.sizes.split(','):
        cfg = configs[name]
        model = alexnet(43, **cfg)
        x = torch.randn(args.batch, 3, cfg['input_size'], cfg['input_size'])
        y = torch.randint(0, 43, (args.batch,))
        to_fc7 = model[:-1]
        model.eval()
        with torch.no_grad():
            fwd = time_it(lambda: to_fc7(x), args.repeats)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

        train = time_it(step, args.repeats)
        results.append({
            'model': name, **cfg, 'batch': args.batch, 'threads': args.threads,
            'forward_fc7_ms_per_image': round(fwd * 1000 / args.batch, 2),
            'train_step_ms_per_image': round(train * 1000 / args.batch, 2),
        })
    out = {'framework': f'pytorch {torch.__version__}', 'results': results}
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == '__main__':
    main()
