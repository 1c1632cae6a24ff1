#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/payload-score.py BUILD_DIR MODEL [--write] - calibrates and measures the
payload score of `steg reveal` (steg_reveal_scored) for a model: how well it tells the
model's hybrids from images that carry no payload.

Each BSDS500 photo is revealed twice with libsteg: as it is (no payload) and as the
hybrid `steg hide` makes of it with its neighbour (the next photo of the folder) as the
payload. The threshold is chosen on the `train/` photos (the one that makes the fewest
errors, hybrids missed plus clean photos flagged, in the middle of the best range) and
measured on the `test/` photos it never saw: the share of hybrids taken for clean photos
(missed) and of clean photos taken for hybrids (false alarms), as text and as one JSON
line. With --write, and only when the held-out accuracy is at least 75 %, the threshold
and its measured rates go into the model file's metadata ("payload_score_threshold",
"payload_score_calibration"), where `steg reveal` finds them.

    /usr/bin/python3 scripts/payload-score.py build models/default.safetensors --write

Needs python3 with numpy (Debian: python3-numpy) and ../shared/datasets/bsds.
"""
import argparse
import json
import os
import struct
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steg_build import Libsteg, make_pairs  # noqa: E402


def scores(steg, folder, tag):
    clean, hybrid = [], []
    for c, h in make_pairs(steg, folder, tag):
        clean.append(steg.reveal(c)[1])
        hybrid.append(steg.reveal(h)[1])
    return np.array(clean), np.array(hybrid)


def rates(clean, hybrid, t):
    return float((hybrid < t).mean()), float((clean >= t).mean())  # missed, flagged


def choose(clean, hybrid):
    """The threshold with the fewest errors on these photos, mid-way through the best range."""
    cands = np.unique(np.concatenate([clean, hybrid, [1.0 + 1e-9]]))
    errors = np.array([sum(rates(clean, hybrid, t)) for t in cands])
    best = np.flatnonzero(errors == errors.min())
    lo, hi = cands[best[0]], cands[best[-1]]
    return float(np.round((lo + hi) / 2, 4))


def write_metadata(path, extra):
    """Adds string metadata to a safetensors file, atomically; the tensors are untouched."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.setdefault("__metadata__", {}).update(extra)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".payload-score-")
    with os.fdopen(fd, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    os.chmod(tmp, os.stat(path).st_mode & 0o777)
    os.replace(tmp, path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", help="build folder (holds the steg Python module, python/steg)")
    ap.add_argument("model", help="model file (.safetensors)")
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "datasets", "bsds"),
                    help="BSDS500 folder (with train/ and test/)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--write", action="store_true", help="store the threshold in the model file's metadata")
    a = ap.parse_args()
    for split in ("train", "test"):
        if not os.path.isdir(os.path.join(a.data, split)):
            sys.exit(f"payload-score.py: no BSDS500 '{split}' folder under {a.data} (give --data)")

    steg = Libsteg(a.build, a.model, a.threads)
    train_clean, train_hybrid = scores(steg, os.path.join(a.data, "train"), "train")
    test_clean, test_hybrid = scores(steg, os.path.join(a.data, "test"), "test")
    t = choose(train_clean, train_hybrid)
    missed, flagged = rates(test_clean, test_hybrid, t)
    accuracy = 1 - (missed + flagged) / 2
    name = os.path.basename(a.model)
    q = [0, 5, 50, 95, 100]
    print(f"{name}: threshold {t} (chosen on BSDS500 train/), measured on test/ "
          f"({len(test_clean)} photos, each clean and as a hybrid)")
    print("  test scores          " + "  ".join(f"p{p:<6}" for p in q))
    for label, s in (("hybrids", test_hybrid), ("clean photos", test_clean)):
        print(f"  {label:<19}" + "  ".join(f"{v:.5f}" for v in np.percentile(s, q)))
    print(f"  hybrids missed {100 * missed:.1f} %, clean photos taken for hybrids {100 * flagged:.1f} %, "
          f"accuracy {100 * accuracy:.1f} %")
    result = {"model": name, "threshold": t, "photos": len(test_clean), "hybrids_missed": missed,
              "clean_flagged": flagged, "accuracy": accuracy}
    print(json.dumps(result))
    if a.write:
        if accuracy < 0.75:
            sys.exit(f"payload-score.py: the score does not separate this model's hybrids from clean photos "
                     f"(accuracy {100 * accuracy:.1f} %): nothing written")
        write_metadata(a.model, {"payload_score_threshold": f"{t}", "payload_score_calibration": json.dumps(
            {"set": "BSDS500 test/, each photo clean and hiding its neighbour", "photos": len(test_clean),
             "hybrids_missed": round(missed, 4), "clean_flagged": round(flagged, 4)})})
        print(f"wrote payload_score_threshold {t} into {a.model}")


if __name__ == "__main__":
    main()
