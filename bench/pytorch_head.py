#!/usr/bin/env python3
"""PyTorch reference for bench/head.ts: the new last layer of feature extraction (strategy 3) trained on cached
features, as the studio's trainer does it: nn.Linear(dim, classes) + cross entropy, Adam (lr 1e-3, the
defaults betas 0.9/0.999, eps 1e-8), batch 64, over 1,024 random samples per timed pass (16 steps). Prints one
JSON line: ms per 1,000 samples for each dim, the best of `--repeats` passes after one warm-up.

    python3 bench/pytorch_head.py --dims 256,4096 --threads 1 --repeats 8
"""
import argparse
import json
import time

import torch
import torch.nn as nn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dims', default='256,4096')
    ap.add_argument('--classes', type=int, default=43)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--samples', type=int, default=1024)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--repeats', type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    results = []
    for dim in [int(d) for d in args.dims.split(',')]:
        head = nn.Linear(dim, args.classes)
        opt = torch.optim.Adam(head.parameters(), lr=1e-3)
        feats = torch.randn(args.samples, dim)
        labels = torch.randint(0, args.classes, (args.samples,))

        def epoch():
            for i in range(0, args.samples, args.batch):
                opt.zero_grad()
                nn.functional.cross_entropy(head(feats[i:i + args.batch]), labels[i:i + args.batch]).backward()
                opt.step()

        epoch()
        best = float('inf')
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            epoch()
            best = min(best, time.perf_counter() - t0)
        results.append({'dim': dim, 'ms_per_1000_samples': round(best * 1000 * 1000 / args.samples, 2)})
    print(json.dumps({
        'framework': f'pytorch {torch.__version__}',
        'threads': torch.get_num_threads(),
        'batch': args.batch,
        'classes': args.classes,
        'results': results,
    }))


if __name__ == '__main__':
    main()
