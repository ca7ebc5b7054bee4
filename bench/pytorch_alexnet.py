#!/usr/bin/python3
"""PyTorch reference for the engine benchmarks: the same AlexNet (BVLC layout, 2-group conv2/4/5, LRN) on the
same batch as bench/engine.ts, on this machine's CPU threads.

Run with Debian's python3-torch (+ libopenblas0-pthread):
    /usr/bin/python3 bench/pytorch_alexnet.py --batch 32 --threads 2 --json
--device cuda times the same models on an NVIDIA GPU (bench/gpu.sh, on a lent GPU machine): the
stand-in for what a native CUDA backend does, since tfjs-node-gpu's libtensorflow cannot be fetched there.
Prints one JSON object: forward (to fc7 / the hidden layer), full train step, evaluation (whole model,
no grad), head training on cached features (ms per 1,000 samples), multiply-accumulates per image and the
process's peak RSS, for each model asked: full (AlexNet 227 px, width 1, 4096), reduced (the AlexNet of
bench/accuracy.ts: 67 px, width 0.25, 512) and compact (strategy 4's CNN at width 0.5: 16-32-64 filters, BN).
"""
import argparse
import json
import resource
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


def compact(num_classes: int, channels: int = 16, dense: int = 256, input_size: int = 32) -> nn.Sequential:
    """src/main/ml/models/compact.ts: blocks of conv-BN-relu x2 + maxpool, channels doubling, flatten, dense."""
    layers, cin, side = [], 3, input_size
    depth = min(5, max(1, int(__import__('math').floor(__import__('math').log2(input_size / 4)))))
    for b in range(depth):
        cout = channels * 2 ** b
        for _ in range(2):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU(inplace=True)]
            cin = cout
        layers.append(nn.MaxPool2d(2, 2))
        side //= 2
    flat = side * side * cin
    return nn.Sequential(
        nn.Sequential(*layers, nn.Flatten(), nn.Linear(flat, dense), nn.ReLU(inplace=True), nn.Dropout(0.5)),
        nn.Linear(dense, num_classes),
    )


def count_macs(model: nn.Module, input_size: int) -> int:
    """Multiply-accumulates of one forward pass per image (conv and linear layers)."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += m.in_features * m.out_features
    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, 3, input_size, input_size))
    for h in hs:
        h.remove()
    return total[0]


def time_it(fn, repeats: int, sync=lambda: None) -> float:
    fn()  # warm-up
    sync()
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()  # a GPU runs asynchronously: wait for its work before reading the clock
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--sizes', default='full', help='comma list of full|reduced')
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--device', default='cpu', help='cpu or cuda')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    configs = {
        'full': dict(width=1.0, fc_units=4096, input_size=227),
        'reduced': dict(width=0.25, fc_units=512, input_size=67),
        'compact': dict(channels=16, dense=256, input_size=32),
    }
    results = []
    for name in args.sizes.split(','):
        cfg = configs[name]
        model = compact(43, **cfg) if name == 'compact' else alexnet(43, **cfg)
        macs = count_macs(model, cfg['input_size'])
        model.to(dev)
        x = torch.randn(args.batch, 3, cfg['input_size'], cfg['input_size'], device=dev)
        y = torch.randint(0, 43, (args.batch,), device=dev)
        to_fc7 = model[:-1]
        model.eval()
        with torch.no_grad():
            fwd = time_it(lambda: to_fc7(x), args.repeats, sync)
            evaluate = time_it(lambda: model(x).argmax(1), args.repeats, sync)
        # Head training on cached features (strategy 3): the new output layer alone, batch 64, Adam.
        feat_dim = model[-1].in_features
        head = nn.Linear(feat_dim, 43).to(dev)
        head_opt = torch.optim.Adam(head.parameters(), lr=1e-3)
        feats = torch.randn(1024, feat_dim, device=dev)
        labels = torch.randint(0, 43, (1024,), device=dev)

        def head_epoch():
            for i in range(0, 1024, 64):
                head_opt.zero_grad()
                nn.functional.cross_entropy(head(feats[i:i + 64]), labels[i:i + 64]).backward()
                head_opt.step()

        head_t = time_it(head_epoch, args.repeats, sync)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

        train = time_it(step, args.repeats, sync)
        results.append({
            'model': name, **cfg, 'batch': args.batch, 'threads': args.threads, 'device': args.device,
            'forward_fc7_ms_per_image': round(fwd * 1000 / args.batch, 4),
            'train_step_ms_per_image': round(train * 1000 / args.batch, 4),
            'evaluate_images_per_s': round(args.batch / evaluate, 1),
            'head_ms_per_1000_samples': round(head_t * 1000 * 1000 / 1024, 2),
            'macs_per_image': macs,
            'peak_rss_mib': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        })
    out = {'framework': f'pytorch {torch.__version__}', 'results': results}
    if dev.type == 'cuda':
        out['gpu'] = torch.cuda.get_device_name(dev)
        out['peak_gpu_mib'] = round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == '__main__':
    main()
