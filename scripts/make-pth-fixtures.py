"""Writes PyTorch weight files for the .pth reader's tests (test/main/ml/weights/pth.test.ts).

Usage: /usr/bin/python3 scripts/make-pth-fixtures.py <out-dir>
Real torch.save in both formats (zip, and the legacy one with _use_new_zipfile_serialization=False), with a
transposed (non-contiguous) view, a strided slice, float16/float64 tensors, an int64 num_batches_tracked, a
checkpoint dict wrapping a state dict, a torchvision resnet18 with random weights and batch-norm statistics,
and a pickle that names os.system. expected.json holds the values PyTorch has for each tensor.
"""
import collections
import json
import os
import pickle
import sys

import torch
import torchvision

out = sys.argv[1]
torch.manual_seed(0)
sd = collections.OrderedDict()
sd['conv.weight'] = torch.randn(4, 3, 3, 3)
sd['fc.weight'] = torch.randn(5, 6).t()  # a transposed view: strides (1, 6)
sd['half'] = torch.randn(7).half()
sd['double'] = torch.randn(2, 3).double()
sd['bn.num_batches_tracked'] = torch.tensor(17)
sd['slice'] = torch.arange(20, dtype=torch.float32)[5:15:2]  # offset 5, stride 2
torch.save(sd, os.path.join(out, 'small-zip.pth'))
torch.save(sd, os.path.join(out, 'small-legacy.pth'), _use_new_zipfile_serialization=False)
torch.save({'epoch': 3, 'state_dict': sd}, os.path.join(out, 'checkpoint.pth'))
expected = {k: {'shape': list(v.shape), 'values': v.double().flatten().tolist()} for k, v in sd.items()}

model = torchvision.models.resnet18()
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.uniform_(-0.5, 0.5)
        m.running_var.uniform_(0.5, 1.5)
rsd = model.state_dict()
torch.save(rsd, os.path.join(out, 'resnet18-zip.pth'))
torch.save(rsd, os.path.join(out, 'resnet18-legacy.pth'), _use_new_zipfile_serialization=False)
expected['_resnet18'] = {
    k: {'shape': list(v.shape), 'sum': float(v.double().sum()), 'first': v.double().flatten()[:8].tolist()}
    for k, v in rsd.items()
}


class Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


# The legacy layout with a hostile object pickle (never executed by the reader under test).
with open(os.path.join(out, 'evil-legacy.pth'), 'wb') as f:
    pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
    pickle.dump(1001, f, protocol=2)
    pickle.dump({'protocol_version': 1001, 'little_endian': True}, f, protocol=2)
    pickle.dump(collections.OrderedDict(w=Evil()), f, protocol=2)
    pickle.dump([], f, protocol=2)

with open(os.path.join(out, 'expected.json'), 'w') as f:
    json.dump(expected, f)
