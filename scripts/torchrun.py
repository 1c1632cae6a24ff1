#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# scripts/torchrun.py - PyTorch's torchrun, for Debian 12's python3-torch (PyTorch 1.13
# under Python 3.11), whose torchrun stops before starting any process:
#   AttributeError: 'NoneType' object has no attribute 'get'
# Python 3.11 no longer lists the zero-valued flag Std.NONE when Std is iterated, and
# torchrun's parser of --redirects/--tee looks for it that way. This mends that one
# function and runs torchrun; arguments are torchrun's (1.13 spells them with
# underscores), for example:
#   scripts/torchrun.py --standalone --nproc_per_node 2 --no_python steg-trainer train ...
import sys

import torch.distributed.elastic.multiprocessing.api as api

_from_str = api.Std.from_str.__func__


def _mended_from_str(cls, vm):
    return api.Std.NONE if vm == "0" else _from_str(cls, vm)


api.Std.from_str = classmethod(_mended_from_str)

from torch.distributed.run import main  # noqa: E402

sys.exit(main())
