"""Writes PyTorch weight files for the .pth reader's tests (test/main/ml/weights/pth.test.ts).

Usage: /usr/bin/python3 scripts/make-pth-fixtures.py <out-dir>    (Debian's python3-torch, python3-torchvision)

Everything is written by torch.save itself, in both formats (zip, the default, and the legacy one with
_use_new_zipfile_serialization=False):
  small-{zip,legacy}.pth      a state dict with a real BatchNorm2d (running stats, num_batches_tracked int64),
                              a transposed view, a strided slice with an offset, a permuted 3-D view, an
                              expanded view (stride 0), two tensors sharing one storage, float16, bfloat16,
                              float64, an int64 beyond 2^24 and a Parameter
  checkpoint-{state_dict,model}.pth   that state dict inside a checkpoint dict (with an optimizer's state)
  resnet18-{zip,legacy}.pth   torchvision.models.resnet18() with random weights and batch-norm statistics
  evil-{zip,legacy}.pth       pickles naming os.system and builtins.eval (the reader must refuse, not run them)
  module-zip.pth              a whole pickled nn.Module instead of its state dict
expected.json: for every tensor its shape, dtype and values as PyTorch has them (float64; int64 as strings);
for resnet18 the shape, dtype, sum and first 8 values; the bytes of storage of both state dicts; and the file offset of
small-legacy.pth's first storage header (after its five pickles).
"""
import collections
import json
import os
import pickletools
import sys

import torch
import torchvision

out = sys.argv[1]
torch.manual_seed(0)


def save_both(obj, name):
    torch.save(obj, os.path.join(out, f'{name}-zip.pth'))
    torch.save(obj, os.path.join(out, f'{name}-legacy.pth'), _use_new_zipfile_serialization=False)


# A real BatchNorm2d trained for 17 steps: running statistics and num_batches_tracked == 17.
bn = torch.nn.BatchNorm2d(3)
for _ in range(17):
    bn(torch.randn(4, 3, 5, 5))

sd = collections.OrderedDict()
sd['conv.weight'] = torch.randn(4, 3, 3, 3)
for k, v in bn.state_dict().items():
    sd[f'bn.{k}'] = v
sd['fc.weight'] = torch.randn(5, 6).t()  # transposed view: stride (1, 6)
sd['slice'] = torch.arange(20, dtype=torch.float32)[5:15:2]  # offset 5, stride 2
sd['permuted'] = torch.randn(2, 3, 4).permute(2, 0, 1)  # stride (1, 12, 4)
sd['expanded'] = torch.randn(3, 1).expand(3, 4)  # stride (1, 0)
shared = torch.randn(10)
sd['shared.a'] = shared[:4]
sd['shared.b'] = shared[4:].view(2, 3)  # same storage, offset 4
sd['half'] = torch.randn(7).half()
sd['bfloat'] = torch.randn(6).bfloat16()
sd['double'] = torch.randn(2, 3).double()
sd['big_int'] = torch.tensor([2**40 + 1, -3, 0], dtype=torch.int64)
sd['param'] = torch.nn.Parameter(torch.randn(3))  # pickled through _rebuild_parameter
assert not sd['fc.weight'].is_contiguous() and not sd['permuted'].is_contiguous()
assert sd['expanded'].stride() == (1, 0) and sd['shared.b'].storage_offset() == 4
save_both(sd, 'small')

# A real optimizer's state beside it (on a copy, so the state dict stays as saved above).
p = torch.nn.Parameter(sd['param'].detach().clone())
opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
p.sum().backward()
opt.step()
torch.save({'epoch': 3, 'state_dict': sd, 'optimizer': opt.state_dict()}, os.path.join(out, 'checkpoint-state_dict.pth'))
torch.save({'model': sd, 'best_acc': 0.5}, os.path.join(out, 'checkpoint-model.pth'))


def values(v):
    flat = v.detach().flatten()
    if v.dtype.is_floating_point:
        return flat.double().tolist()
    return [str(int(x)) for x in flat.tolist()]


expected = {
    'small': [
        {'name': k, 'shape': list(v.shape), 'dtype': str(v.dtype).replace('torch.', ''), 'values': values(v)}
        for k, v in sd.items()
    ]
}
expected['smallBytes'] = sum({v.storage().data_ptr(): v.storage().nbytes() for v in sd.values()}.values())

model = torchvision.models.resnet18()
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.uniform_(-0.5, 0.5)
        m.running_var.uniform_(0.5, 1.5)
        m.num_batches_tracked.fill_(1234)
rsd = model.state_dict()
save_both(rsd, 'resnet18')
expected['resnet18'] = [
    {
        'name': k,
        'shape': list(v.shape),
        'dtype': str(v.dtype).replace('torch.', ''),
        'sum': float(v.double().sum()),
        'first': values(v)[:8],
    }
    for k, v in rsd.items()
]
expected['resnet18Bytes'] = sum({v.storage().data_ptr(): v.storage().nbytes() for v in rsd.values()}.values())
expected['resnet18Params'] = sum(p.numel() for p in model.parameters())


class System:
    def __reduce__(self):
        return (os.system, ('echo pwned > pwned.txt',))


class Eval:
    def __reduce__(self):
        return (eval, ('__import__("os").system("echo pwned > pwned.txt")',))


# Real torch.save layouts around hostile pickles; the reader under test must refuse them without running them.
torch.save(collections.OrderedDict(w=torch.zeros(2), x=System()), os.path.join(out, 'evil-zip.pth'))
torch.save(
    collections.OrderedDict(w=torch.zeros(2), x=Eval()),
    os.path.join(out, 'evil-legacy.pth'),
    _use_new_zipfile_serialization=False,
)
torch.save(torch.nn.Linear(2, 2), os.path.join(out, 'module-zip.pth'))

# The legacy format: five pickles (magic, protocol, sys_info, object, storage keys), then the storages.
with open(os.path.join(out, 'small-legacy.pth'), 'rb') as f:
    for _ in range(5):
        for _op in pickletools.genops(f):
            pass
    expected['smallLegacyFirstStorage'] = f.tell()

with open(os.path.join(out, 'expected.json'), 'w') as f:
    json.dump(expected, f)
print(f'fixtures in {out}: torch {torch.__version__}, torchvision {torchvision.__version__}')
