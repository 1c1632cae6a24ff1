# SPDX-License-Identifier: MIT
"""The PyTorch reference's own CPU measurements without its bf16 variant.

bench/run uses this on a CPU without native bf16 (AVX512-BF16 or AMX): there the
reference's bf16 autocast runs emulated and one round takes over ten minutes, while
libsteg refuses bf16 outright. It runs ../shared/reference/bench_reference.py's own code,
unchanged but for the list of precisions it times on the CPU, so every fp32 figure is
the reference's. Arguments are the reference's.
"""
import os
import sys

ref_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "reference")
path = os.path.join(ref_dir, "bench_reference.py")
source = open(path).read()
bf16 = '[("bf16", torch.bfloat16)]'
if source.count(bf16) != 1:
    sys.exit(f"bench/reference-fp32.py: {path} no longer lists its CPU precisions as '{bf16}'; "
             "update this file to match it")
sys.path.insert(0, ref_dir)  # for its `from paper_model import ...`
code = compile(source.replace(bf16, "[]"), path, "exec")
exec(code, {"__name__": "__main__", "__file__": path})
