#!/usr/bin/env python3
"""Records spec/fixtures/parity/pitome-cases.json: PiToMe and MLERP merges computed by official code.

The official functions are imported, unchanged, from a copy of the PiToMe repository:
  https://github.com/hchautran/PiToMe, algo/pitome/merge.py at commit
  01b65c37ca1a87acbb54dfcf301a22073b9d213e (pitome_vision with the ELU energy, pitome, merge_wavg);
  the per-block margin 0.9 - 0.8 * i / L is that repository's algo/pitome/patch/deit.py apply_patch
  (commit 10ea8a6ea8dc55dc8ad47e4b4231102e4dfdc4ce).
Pass the directory that holds that merge.py (it needs only torch and numpy):

  python scripts/record-pitome-cases.py --pitome /path/to/PiToMe/algo/pitome --turbo /path/to/turbo \
      > spec/fixtures/parity/pitome-cases.json

--mctf is the directory of mlvlab/MCTF utils/mctf.py (commit ef379fb76156e8e90a3a9937ebe7a1e71b872571):
the MCTF cases ("score": "mctf") are its bipartite_soft_matching (bidirection 1, the temperatures of
run/eval_deit_t_mctf.sh unless a case says otherwise) and merge_wavg with pooling_type 0 and
one_step_ahead 0; attnCls holds attn.mean(dim=[1, 2]) of random attention, what that function reads.

--turbo is the directory of the official Turbo merge.py whose bipartite_unimodal_matching and
merge_wavg_ours produced spec/fixtures/parity/merge-cases.json: the Turbo-score cases ("score":
"turbo") group tokens with it and apply MLERP as below.

ToFu's MLERP (arXiv 2312.01026) has no published code. Its cases apply the paper's equation,
MLERP = mean / ||mean|| * max_i ||x_i|| over the tokens merged together, on top of the official
PiToMe grouping: the mean is official merge_wavg, the largest norm is the official merge function
with mode "amax" over the token norms (mlerp_from_paper below, the only code here that is not
PiToMe's). A token nothing merged into is left as merge_wavg returns it.

Case inputs are float32 (what the ops see); expectations are the float32 torch results.
"""
import argparse
import importlib.util
import json
import os

import numpy as np
import torch


def load_official(directory):
    spec = importlib.util.spec_from_file_location('pitome_merge', os.path.join(directory, 'merge.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ratio_for(r, t):
    # pitome_vision takes r = floor(T - T * ratio); half a token of slack keeps float rounding off the floor.
    return 1.0 - (r + 0.5) / t


def mlerp_from_paper(merge, wavg, x, size):
    mean, size_out = wavg(merge, x, size)
    max_norm = merge(x.norm(dim=-1, keepdim=True), mode='amax')
    members = merge(torch.ones_like(x[..., :1]), mode='sum')
    rescaled = mean / mean.norm(dim=-1, keepdim=True).clamp_min(1e-12) * max_norm
    return torch.where(members > 1, rescaled, mean), size_out


CASES = [
    # B, N, C, d, r, class_token, margin, prior sizes, merge
    dict(B=1, N=9, C=3, d=4, r=2, class_token=True, margin=0.9, sized=False, merge='mean', seed=1),
    dict(B=2, N=16, C=5, d=6, r=4, class_token=True, margin=0.9 - 0.8 * 5 / 12, sized=False, merge='mean', seed=2),
    dict(B=1, N=12, C=4, d=3, r=6, class_token=False, margin=0.5, sized=False, merge='mean', seed=3),
    dict(B=2, N=11, C=4, d=5, r=3, class_token=True, margin=0.9 - 0.8 * 11 / 12, sized=True, merge='mean', seed=4),
    dict(B=1, N=197, C=16, d=64, r=16, class_token=True, margin=0.9, sized=False, merge='mean', seed=5),
    dict(B=1, N=9, C=3, d=4, r=2, class_token=True, margin=0.9, sized=False, merge='mlerp', seed=6),
    dict(B=2, N=15, C=6, d=4, r=5, class_token=True, margin=0.9 - 0.8 * 3 / 12, sized=True, merge='mlerp', seed=7),
    dict(B=1, N=10, C=4, d=4, r=3, class_token=False, margin=0.6, sized=False, merge='mlerp', seed=8),
    dict(B=1, N=181, C=16, d=64, r=16, class_token=True, margin=0.9 - 0.8 * 1 / 12, sized=True, merge='mlerp', seed=9),
]


def record(case):
    rng = np.random.default_rng(case['seed'])
    B, N, C, d = case['B'], case['N'], case['C'], case['d']
    x = rng.standard_normal((B, N, C)).astype(np.float32)
    # Keys share a direction, as real keys do, so energies spread above and below the margin.
    metric = (rng.standard_normal((B, N, d)) + 1.5 * rng.standard_normal((1, 1, d))).astype(np.float32)
    size = rng.integers(1, 5, (B, N)).astype(np.float32) if case['sized'] else None
    t = N - (1 if case['class_token'] else 0)
    merge = official.pitome_vision(torch.from_numpy(metric), ratio=ratio_for(case['r'], t), margin=case['margin'], class_token=case['class_token'])
    xt = torch.from_numpy(x)
    st = torch.from_numpy(size)[..., None] if size is not None else None
    if case['merge'] == 'mean':
        x_out, size_out = official.merge_wavg(merge, xt, st)
    else:
        x_out, size_out = mlerp_from_paper(merge, official.merge_wavg, xt, st)
    assert x_out.shape[1] == N - case['r'], (x_out.shape, case)
    out = {k: case[k] for k in ('B', 'N', 'C', 'd', 'r', 'margin', 'merge')}
    out.update(
        score='pitome',
        classToken=case['class_token'],
        x=x.tolist(),
        metric=metric.tolist(),
        size=size.tolist() if size is not None else None,
        expectedX=x_out.numpy().astype(np.float64).tolist(),
        expectedSize=size_out[..., 0].numpy().astype(np.float64).tolist(),
    )
    return out


TURBO_CASES = [
    # MLERP over Turbo's grouping (alpha 0 is ToMe); c = 30 * alpha as beta = 1.
    dict(B=1, N=9, C=3, d=4, r=2, alpha=0.0, class_token=True, sized=False, seed=11),
    dict(B=2, N=17, C=6, d=5, r=4, alpha=1.0, class_token=True, sized=True, seed=12),
    dict(B=1, N=12, C=4, d=4, r=5, alpha=0.5, class_token=False, sized=False, seed=13),
    dict(B=1, N=197, C=16, d=64, r=16, alpha=5.0, class_token=True, sized=False, seed=14),
]


def record_turbo(case):
    rng = np.random.default_rng(case['seed'])
    B, N, C, d = case['B'], case['N'], case['C'], case['d']
    x = rng.standard_normal((B, N, C)).astype(np.float32)
    metric = (rng.standard_normal((B, N, d)) + 1.5 * rng.standard_normal((1, 1, d))).astype(np.float32)
    attn = rng.dirichlet(np.ones(N), B).astype(np.float32)
    size = rng.integers(1, 5, (B, N)).astype(np.float32) if case['sized'] else None
    merge = turbo.bipartite_unimodal_matching(torch.from_numpy(metric), torch.from_numpy(attn), case['r'], class_token=case['class_token'], alpha=case['alpha'])
    st = torch.from_numpy(size)[..., None] if size is not None else None
    x_out, size_out = mlerp_from_paper(merge, turbo.merge_wavg_ours, torch.from_numpy(x), st)
    assert x_out.shape[1] == N - case['r'], (x_out.shape, case)
    out = {k: case[k] for k in ('B', 'N', 'C', 'd', 'r', 'alpha')}
    out.update(
        score='turbo',
        merge='mlerp',
        margin=0.5,
        classToken=case['class_token'],
        x=x.tolist(),
        metric=metric.tolist(),
        attnCls=attn.tolist(),
        size=size.tolist() if size is not None else None,
        expectedX=x_out.numpy().astype(np.float64).tolist(),
        expectedSize=size_out[..., 0].numpy().astype(np.float64).tolist(),
    )
    return out


MCTF_CASES = [
    dict(B=1, N=9, C=3, d=4, r=2, class_token=True, sized=False, tau=(1, 20, 40), merge='mean', seed=21),
    dict(B=2, N=17, C=6, d=5, r=5, class_token=True, sized=True, tau=(1, 20, 40), merge='mean', seed=22),
    dict(B=1, N=12, C=4, d=4, r=4, class_token=False, sized=True, tau=(1, 20, 40), merge='mean', seed=23),
    dict(B=1, N=197, C=16, d=64, r=16, class_token=True, sized=False, tau=(1, 20, 40), merge='mean', seed=24),
    dict(B=2, N=15, C=4, d=4, r=5, class_token=True, sized=True, tau=(2, 5, 10), merge='mlerp', seed=25),
    dict(B=1, N=10, C=3, d=4, r=3, class_token=True, sized=True, tau=(1, 0, 0), merge='mean', seed=26),
]


def record_mctf(case):
    rng = np.random.default_rng(case['seed'])
    B, N, C, d = case['B'], case['N'], case['C'], case['d']
    x = rng.standard_normal((B, N, C)).astype(np.float32)
    metric = (rng.standard_normal((B, N, d)) + 1.5 * rng.standard_normal((1, 1, d))).astype(np.float32)
    attn = torch.softmax(torch.from_numpy((2 * rng.standard_normal((B, 3, N, N))).astype(np.float32)), dim=-1)
    received = attn.mean(dim=[1, 2])
    size = rng.integers(1, 5, (B, N)).astype(np.float32) if case['sized'] else None
    st = torch.from_numpy(size)[..., None] if size is not None else None
    ts, ti, tz = case['tau']
    merge, _ = mctf.bipartite_soft_matching(torch.from_numpy(metric), attn, st, case['r'], 1 if case['class_token'] else 0, ts, ti, tz, 1)
    wavg = lambda m, v, s: mctf.merge_wavg(m, v, s)[:2]
    xt = torch.from_numpy(x)
    x_out, size_out = wavg(merge, xt, st) if case['merge'] == 'mean' else mlerp_from_paper(merge, wavg, xt, st)
    assert x_out.shape[1] == N - case['r'], (x_out.shape, case)
    out = {k: case[k] for k in ('B', 'N', 'C', 'd', 'r', 'merge')}
    out.update(
        score='mctf',
        margin=0.5,
        tau=list(case['tau']),
        classToken=case['class_token'],
        x=x.tolist(),
        metric=metric.tolist(),
        attnCls=received.numpy().astype(np.float64).tolist(),
        size=size.tolist() if size is not None else None,
        expectedX=x_out.numpy().astype(np.float64).tolist(),
        expectedSize=size_out[..., 0].numpy().astype(np.float64).tolist(),
    )
    return out


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--pitome', required=True, help='directory holding the official algo/pitome/merge.py')
    parser.add_argument('--turbo', required=True, help='directory holding the official Turbo merge.py')
    parser.add_argument('--mctf', required=True, help='directory holding the official MCTF utils/mctf.py')
    args = parser.parse_args()
    official = load_official(args.pitome)
    turbo = load_official(args.turbo)
    spec_ = importlib.util.spec_from_file_location('mctf_official', os.path.join(args.mctf, 'mctf.py'))
    mctf = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mctf)
    doc = {
        'source': 'hchautran/PiToMe algo/pitome/merge.py @ 01b65c37ca1a87acbb54dfcf301a22073b9d213e: pitome_vision (ELU energy, use_bsm_pitome=False) + merge_wavg; '
        'margins 0.9 - 0.8*i/12 (algo/pitome/patch/deit.py @ 10ea8a6ea8dc55dc8ad47e4b4231102e4dfdc4ce)',
        'turbo': 'score "turbo" cases: Turbo bipartite_unimodal_matching + merge_wavg_ours (the code behind merge-cases.json), MLERP as below',
        'note': 'merge "mlerp": ToFu (arXiv 2312.01026) has no published code; mean/||mean||*max||x_i|| over the official PiToMe groups '
        '(official merge with mode "amax"), scripts/record-pitome-cases.py mlerp_from_paper. torch ' + torch.__version__ + ', float32',
        'mctf': 'score "mctf" cases: mlvlab/MCTF utils/mctf.py @ ef379fb76156e8e90a3a9937ebe7a1e71b872571 bipartite_soft_matching (bidirection 1) + merge_wavg (pooling_type 0, one_step_ahead 0)',
        'cases': [record(c) for c in CASES] + [record_turbo(c) for c in TURBO_CASES] + [record_mctf(c) for c in MCTF_CASES],
    }
    print(json.dumps(doc))
