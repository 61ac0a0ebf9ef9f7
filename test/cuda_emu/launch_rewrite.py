#!/usr/bin/python3
"""Rewrites a .cu file for the host emulation: `kernel<<<grid, block, shmem, stream>>>(args);`
becomes `emu_launch(emu_cfg{grid, block, shmem, stream}, warp_mode, &kernel, args);` (args are
evaluated at launch time, as CUDA does, so graph capture records their values). Kernels that
use warp shuffles (softmax) run their warps in lockstep. Usage: launch_rewrite.py in.cu out.cc"""
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
launch = re.compile(r'([A-Za-z_]\w*(?:<[^<>;]*>)?)<<<(.*?)>>>\((.*?)\);', re.S)


def rewrite(m):
    name, cfg, args = m.group(1), m.group(2), m.group(3)
    warp = 'true' if 'softmax' in name else 'false'
    return f'emu_launch(emu_cfg{{{cfg}}}, {warp}, &{name}, {args});'


text, n = launch.subn(rewrite, text)
open(dst, 'w').write(text)
