#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/bf16-check.py BUILD MODEL FOLDER [N] - what bf16 precision changes, measured
on photos: each of the first N photos of FOLDER (default 50) hides its neighbour with an
fp32 and a bf16 context, and each hybrid is revealed by both. Prints, over the pairs:
the share of hybrid samples that differ from fp32's and by how much, hybrid PSNR
against the cover, and revealed PSNR for every encoder/decoder combination (mean, and
the worst pair's change against fp32/fp32). docs/performance.md quotes its output."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steg_build import Libsteg  # noqa: E402


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    build, model, folder = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    ctx = {p: Libsteg(build, model, 0, p) for p in ("fp32", "bf16")}
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith((".jpg", ".png")))[:n]
    rows = []
    for i, name in enumerate(names):
        cover = os.path.join(folder, name)
        secret = os.path.join(folder, names[(i + 1) % len(names)])
        hyb, payload = {}, None
        for p, c in ctx.items():
            clean, hyb[p] = c.hide(cover, secret)
        payload = ctx["fp32"].prepared(secret, clean.shape[1], clean.shape[0])
        diff = np.abs(hyb["fp32"].astype(int) - hyb["bf16"].astype(int))
        row = {"differ": float((diff > 0).mean()), "max_diff": int(diff.max()),
               "beyond_1": float((diff > 1).mean())}
        for p in ctx:
            row[f"hybrid_{p}"] = psnr(clean, hyb[p])
            for d in ctx:
                row[f"revealed_{p}_{d}"] = psnr(payload, ctx[d].reveal(hyb[p])[0])
        rows.append(row)
        print(f"\r{i + 1}/{len(names)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    keys = rows[0].keys()
    out = {"pairs": len(rows), "mean": {k: float(np.mean([r[k] for r in rows])) for k in keys},
           "max_diff": max(r["max_diff"] for r in rows)}
    base = "revealed_fp32_fp32"
    out["worst_change_db"] = {k: float(min(r[k] - r[base] for r in rows))
                              for k in keys if k.startswith("revealed_") and k != base}
    out["worst_hybrid_change_db"] = float(min(r["hybrid_bf16"] - r["hybrid_fp32"] for r in rows))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
