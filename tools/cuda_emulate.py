#!/usr/bin/python3
"""Checks the GPU backend's arithmetic without a GPU.

A line-by-line numpy transcription of every kernel in cuda/*.cu (same index decomposition,
same loops) and of each cuBLAS call with the exact arguments cuda/ passes (column-major
semantics of cublasSgemm / cublasSgemmStridedBatched), run in float64 on random
deepspeech.pytorch models (tools/ds2_torch.py, BatchNorm randomised then folded as the
converter does) for every RNN type, both directions, mixed-length batches, carried state and
chunked im2col; probabilities and final states must match PyTorch to 1e-9. When a kernel or
a cuBLAS call in cuda/ changes, change its transcription here. Run: tools/cuda_emulate.py
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ds2_torch  # noqa: E402

rng = np.random.default_rng(0)

# ---- cuBLAS column-major semantics
def sgemm(ta, tb, m, n, k, A, lda, B, ldb, C, ldc, offA=0, offB=0, offC=0):
    for j in range(n):
        for i in range(m):
            acc = 0.0
            for p in range(k):
                a = A[offA + (i + p * lda if ta == 'N' else p + i * lda)]
                b = B[offB + (p + j * ldb if tb == 'N' else j + p * ldb)]
                acc += a * b
            C[offC + i + j * ldc] = acc

def sgemm_fast(ta, tb, m, n, k, A, lda, B, ldb, C, ldc, offA=0, offB=0, offC=0):
    # Same semantics, vectorized: build op(A) [m,k], op(B) [k,n] with the column-major rule.
    i = np.arange(m)[:, None]; p = np.arange(k)[None, :]
    opA = A[offA + (i + p * lda if ta == 'N' else p + i * lda)]
    p2 = np.arange(k)[:, None]; j = np.arange(n)[None, :]
    opB = B[offB + (p2 + j * ldb if tb == 'N' else j + p2 * ldb)]
    R = opA @ opB
    ii = np.arange(m)[:, None]; jj = np.arange(n)[None, :]
    C[offC + ii + jj * ldc] = R

def sgemm_sb(ta, tb, m, n, k, A, lda, sA, B, ldb, sB, C, ldc, sC, count):
    for c in range(count):
        sgemm_fast(ta, tb, m, n, k, A, lda, B, ldb, C, ldc, c * sA, c * sB, c * sC)

def sgemv_sb(trans, m, n, A, lda, sA, x, incx, sx, y, incy, sy, count):
    # y = op(A) x with A column-major m x n; op(A) = A^T gives length n.
    for c in range(count):
        rows = n if trans == 'T' else m
        cols = m if trans == 'T' else n
        for i in range(rows):
            acc = 0.0
            for p in range(cols):
                a = A[c * sA + (p + i * lda if trans == 'T' else i + p * lda)]
                acc += a * x[c * sx + p * incx]
            y[c * sy + i * incy] = acc

# ---- kernels, transcribed from the .cu files
def im2col(inp, off_in, s, n0, nc, col):
    k_rows = s['c_in'] * s['k_freq'] * s['k_time']
    for i in range(k_rows * nc):
        k = i // nc; n = n0 + i % nc
        fo = n // s['t_out']; to = n % s['t_out']
        kt = k % s['k_time']; r = k // s['k_time']
        kf = r % s['k_freq']; ci = r // s['k_freq']
        fi = fo * s['stride_freq'] - s['pad_freq'] + kf
        ti = to * s['stride_time'] - s['pad_time'] + kt
        v = 0.0
        if 0 <= fi < s['f_in'] and 0 <= ti < s['t_in']:
            v = inp[off_in + (ci * s['f_in'] + fi) * s['t_in'] + ti]
        col[i] = v

def conv_epilogue(act, bias, out_len, batch, c_out, f_out, t_out, x):
    for i in range(batch * c_out * f_out * t_out):
        to = i % t_out; r = i // t_out; fo = r % f_out; r //= f_out; co = r % c_out; b = r // c_out
        v = 0.0
        if to < out_len[b]:
            v = min(max(act[i] + bias[co], 0.0), 20.0)
        if x is not None:
            x[(to * batch + b) * (c_out * f_out) + co * f_out + fo] = v
        else:
            act[i] = v

def conv_layer(s, batch, weight, bias, out_len, inp, out, x_out, col_floats):
    k_rows = s['c_in'] * s['k_freq'] * s['k_time']
    n_cols = s['f_out'] * s['t_out']
    chunk = min(col_floats // k_rows, n_cols)
    in_per = s['c_in'] * s['f_in'] * s['t_in']; out_per = s['c_out'] * n_cols
    col = np.zeros(col_floats)
    for b in range(batch):
        n0 = 0
        while n0 < n_cols:
            nc = min(n_cols - n0, chunk)
            im2col(inp, in_per * b, s, n0, nc, col)
            sgemm_fast('N', 'N', nc, s['c_out'], k_rows, col, nc, weight, k_rows, out, n_cols, 0, 0, out_per * b + n0)
            n0 += chunk
    conv_epilogue(out, bias, out_len, batch, s['c_out'], s['f_out'], s['t_out'], x_out)

def sigmoid(x): return 1.0 / (1.0 + math.exp(-x))

def rnn_cell(TYPE, xp, hp, b_ih, b_hh, out_len, step, k, batch, hidden, dirs, h, c, y):
    gates = {'lstm': 4, 'gru': 3, 'rnn': 1}[TYPE]
    gh = gates * hidden
    s = step[0] + k
    for i in range(dirs * batch * hidden):
        j = i % hidden; r = i // hidden; b = r % batch; d = r // batch
        ln = out_len[b]
        if s >= ln: continue
        t = s if d == 0 else ln - 1 - s
        xr = (t * batch + b) * dirs * gh + d * gh
        hr = (d * batch + b) * gh
        bi = d * gh; bh = d * gh
        H = hidden
        X = lambda q: xp[xr + q]; P = lambda q: hp[hr + q]; BI = lambda q: b_ih[bi + q]; BH = lambda q: b_hh[bh + q]
        if TYPE == 'lstm':
            gi = sigmoid(X(j) + BI(j) + P(j) + BH(j))
            gf = sigmoid(X(H + j) + BI(H + j) + P(H + j) + BH(H + j))
            gg = math.tanh(X(2 * H + j) + BI(2 * H + j) + P(2 * H + j) + BH(2 * H + j))
            go = sigmoid(X(3 * H + j) + BI(3 * H + j) + P(3 * H + j) + BH(3 * H + j))
            cn = gf * c[i] + gi * gg; c[i] = cn; hn = go * math.tanh(cn)
        elif TYPE == 'gru':
            gr = sigmoid(X(j) + BI(j) + P(j) + BH(j))
            gz = sigmoid(X(H + j) + BI(H + j) + P(H + j) + BH(H + j))
            gn = math.tanh(X(2 * H + j) + BI(2 * H + j) + gr * (P(2 * H + j) + BH(2 * H + j)))
            hn = (1 - gz) * gn + gz * h[i]
        else:
            hn = math.tanh(X(j) + BI(j) + P(j) + BH(j))
        h[i] = hn
        y[((t * batch + b) * dirs + d) * hidden + j] = hn

def state_copy(layer, batch, hidden, dirs, lstm, state_floats, state, h, c, to_state):
    per = 2 if lstm else 1
    for i in range(dirs * batch * hidden):
        j = i % hidden; r = i // hidden; b = r % batch; d = r // batch
        u = b * state_floats + ((layer * dirs + d) * per) * hidden
        if to_state:
            state[u + j] = h[i]
            if lstm: state[u + hidden + j] = c[i]
        else:
            h[i] = state[u + j]
            if lstm: c[i] = state[u + hidden + j]

def merge(y, out_len, T, batch, hidden, dirs, x):
    for i in range(T * batch * hidden):
        j = i % hidden; r = i // hidden; b = r % batch; t = r // batch
        v = 0.0
        if t < out_len[b]:
            for d in range(dirs): v += y[(r * dirs + d) * hidden + j]
        x[i] = v

def lookahead(x, w, out_len, T, batch, hidden, context, out):
    for i in range(T * batch * hidden):
        j = i % hidden; r = i // hidden; b = r % batch; t = r // batch
        ln = out_len[b]; v = 0.0
        if t < ln:
            acc = 0.0; k = 0
            while k < context and t + k < ln:
                acc += x[((t + k) * batch + b) * hidden + j] * w[j * context + k]; k += 1
            v = min(max(acc, 0.0), 20.0)
        out[i] = v

def softmax(logits, bias, out_len, T, batch, labels, probs):
    for r in range(T * batch):
        b = r % batch; t = r // batch
        inp = r * labels; out = (b * T + t) * labels
        if t >= out_len[b]:
            probs[out:out + labels] = 0; continue
        v = logits[inp:inp + labels] + bias
        e = np.exp(v - v.max()); probs[out:out + labels] = e / e.sum()

LONG, SHORT = 32, 4  # DS2_CUDA_RNN_LONG, DS2_CUDA_RNN_SHORT

def forward(W, cfg, batch, t_max, lengths, feats, state):
    # plan (mirrors plan.h)
    convs = []; t = t_max
    for cd in W['conv']:
        s = dict(cd['shape']); s['t_in'] = t
        s['t_out'] = (t + 2 * s['pad_time'] - s['k_time']) // s['stride_time'] + 1
        t = s['t_out']; convs.append(s)
    T = t
    def outlen(L):
        for s in convs:
            L = (L + 2 * s['pad_time'] - (s['k_time'] - 1) - 1) // s['stride_time'] + 1
        return L
    out_len = [outlen(L) for L in lengths]
    max_len = max(out_len)
    H, D, G, Lb = cfg['H'], cfg['D'], cfg['G'], cfg['labels']
    I0 = convs[-1]['c_out'] * convs[-1]['f_out']
    feat = feats.reshape(-1).astype(np.float64).copy()
    act = [None, None]
    x = [np.zeros(T * batch * max(I0, H)), np.zeros(T * batch * max(I0, H))]
    col_floats = 451 * 7  # far below DS2_CUDA_COL_FLOATS: forces several im2col chunks
    for i, s in enumerate(convs):
        inp = feat if i == 0 else act[(i - 1) % 2]
        act[i % 2] = np.full(batch * s['c_out'] * s['f_out'] * s['t_out'], np.nan)
        k_rows = s['c_in'] * s['k_freq'] * s['k_time']
        conv_layer(s, batch, W['conv'][i]['w'], W['conv'][i]['b'], out_len, inp, act[i % 2],
                   x[0] if i == len(convs) - 1 else None, max(col_floats, k_rows))
    S = cfg['layers'] * D * H * (2 if cfg['type'] == 'lstm' else 1)
    cur = 0
    for l, Lw in enumerate(W['rnn']):
        I = Lw['input_size']
        xp = np.full(T * batch * D * G * H, np.nan)
        sgemm_fast('T', 'N', D * G * H, T * batch, I, Lw['w_ih'], I, x[cur], I, xp, D * G * H)
        h = np.zeros(D * batch * H); c = np.zeros(D * batch * H)
        if state is not None:
            state_copy(l, batch, H, D, cfg['type'] == 'lstm', S, state, h, c, 0)
        hp = np.zeros(D * batch * G * H); y = np.full(T * batch * D * H, np.nan)
        step = [0]
        n_long = max_len // LONG
        n_short = (max_len % LONG + SHORT - 1) // SHORT
        for steps in [LONG] * n_long + [SHORT] * n_short:  # graph replays
            for k in range(steps):
                if batch == 1:
                    sgemv_sb('T', H, G * H, Lw['w_hh'], H, G * H * H, h, 1, H, hp, 1, G * H, D)
                else:
                    sgemm_sb('T', 'N', G * H, batch, H, Lw['w_hh'], H, G * H * H, h, H, batch * H, hp, G * H, batch * G * H, D)
                rnn_cell(cfg['type'], xp, hp, Lw['b_ih'], Lw['b_hh'], out_len, step, k, batch, H, D, h, c, y)
            step[0] += steps
        if state is not None:
            state_copy(l, batch, H, D, cfg['type'] == 'lstm', S, state, h, c, 1)
        merge(y, out_len, T, batch, H, D, x[1 - cur])
        cur = 1 - cur
    if W['lookahead'] is not None:
        lookahead(x[cur], W['lookahead'], out_len, T, batch, H, cfg['ctx'], x[1 - cur]); cur = 1 - cur
    logits = np.zeros(T * batch * Lb)
    sgemm_fast('T', 'N', Lb, T * batch, H, W['fc_w'], H, x[cur], H, logits, Lb)
    probs = np.zeros(batch * T * Lb)
    softmax(logits, W['fc_b'], out_len, T, batch, Lb, probs)
    return probs.reshape(batch, T, Lb), out_len, state

def bn_fold(bn):
    s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().double().numpy()
    sh = (bn.bias - bn.running_mean * bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().double().numpy()
    return s, sh

def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.3, 0.3); m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.7, 1.3); m.bias.uniform_(-0.2, 0.2)

def extract(model, cfg):
    W = {'conv': [], 'rnn': []}
    seq = model.conv.seq_module
    convs = [seq[0], seq[3]]; bns = [seq[1], seq[4]]
    f = cfg['n_freq']
    for cv, bn in zip(convs, bns):
        s, sh = bn_fold(bn)
        w = cv.weight.detach().double().numpy() * s[:, None, None, None]
        b = cv.bias.detach().double().numpy() * s + sh
        shape = dict(c_in=cv.in_channels, c_out=cv.out_channels, k_freq=cv.kernel_size[0], k_time=cv.kernel_size[1],
                     stride_freq=cv.stride[0], stride_time=cv.stride[1], pad_freq=cv.padding[0], pad_time=cv.padding[1], f_in=f)
        f = (f + 2 * shape['pad_freq'] - shape['k_freq']) // shape['stride_freq'] + 1
        shape['f_out'] = f
        W['conv'].append(dict(w=w.reshape(-1), b=b, shape=shape))
    D = cfg['D']
    for l, br in enumerate(model.rnns):
        r = br.rnn
        wih, whh, bih, bhh = [], [], [], []
        for d in range(D):
            suf = '_reverse' if d == 1 else ''
            wi = getattr(r, 'weight_ih_l0' + suf).detach().double().numpy()
            bi = getattr(r, 'bias_ih_l0' + suf).detach().double().numpy()
            if br.batch_norm is not None:
                s, sh = bn_fold(br.batch_norm.module)
                bi = bi + wi @ sh; wi = wi * s[None, :]
            wih.append(wi); bih.append(bi)
            whh.append(getattr(r, 'weight_hh_l0' + suf).detach().double().numpy())
            bhh.append(getattr(r, 'bias_hh_l0' + suf).detach().double().numpy())
        W['rnn'].append(dict(input_size=wih[0].shape[1], w_ih=np.concatenate(wih).reshape(-1),
                             w_hh=np.concatenate(whh).reshape(-1), b_ih=np.concatenate(bih), b_hh=np.concatenate(bhh)))
    W['lookahead'] = None
    if model.lookahead is not None:
        W['lookahead'] = model.lookahead[0].conv.weight.detach().double().numpy().reshape(-1)  # [H][1][ctx]
    bn, lin = model.fc[0].module[0], model.fc[0].module[1]
    s, sh = bn_fold(bn)
    fw = lin.weight.detach().double().numpy()
    W['fc_w'] = (fw * s[None, :]).reshape(-1); W['fc_b'] = fw @ sh
    return W

def run_case(rnn_type, bidir, lengths, with_state):
    torch.manual_seed(1)
    H = 5; layers = 2; ctx = 3
    model = ds2_torch.DeepSpeech(rnn_type=rnn_type, hidden_size=H, hidden_layers=layers, bidirectional=bidir,
                                 lookahead_context=ctx, sample_rate=3200, window_size=0.02, conv_channels=2).double()
    randomize_bn(model); model.eval()
    cfg = dict(type=rnn_type, H=H, D=2 if bidir else 1, G={'lstm': 4, 'gru': 3, 'rnn': 1}[rnn_type], labels=29,
               layers=layers, ctx=ctx, n_freq=33)
    W = extract(model, cfg)
    batch = len(lengths); t_max = max(lengths)
    feats = np.zeros((batch, 33, t_max))
    for b, L in enumerate(lengths): feats[b, :, :L] = rng.uniform(-1.5, 1.5, (33, L))
    D = cfg['D']; per = 2 if rnn_type == 'lstm' else 1
    S = layers * D * H * per
    state = rng.uniform(-0.5, 0.5, batch * S) if with_state else None
    hs = None
    if with_state:
        st = state.reshape(batch, layers, D, per, H)
        hs = []
        for l in range(layers):
            h0 = torch.tensor(st[:, l, :, 0, :].transpose(1, 0, 2).copy())
            if rnn_type == 'lstm':
                hs.append((h0, torch.tensor(st[:, l, :, 1, :].transpose(1, 0, 2).copy())))
            else:
                hs.append(h0)
    with torch.no_grad():
        ref, ref_len, new_hs = model(torch.tensor(feats)[:, None], torch.tensor(lengths), hs)
    ref = ref.numpy()
    probs, out_len, new_state = forward(W, cfg, batch, t_max, lengths, feats, state.copy() if with_state else None)
    assert list(ref_len.numpy()) == out_len, (ref_len, out_len)
    T = probs.shape[1]
    err = 0.0
    for b in range(batch):
        err = max(err, np.abs(probs[b, :out_len[b]] - ref[b, :out_len[b]]).max())
        assert np.all(probs[b, out_len[b]:] == 0)
    serr = 0.0
    if with_state:
        ns = new_state.reshape(batch, layers, D, per, H)
        for l in range(layers):
            hh = new_hs[l][0] if rnn_type == 'lstm' else new_hs[l]
            serr = max(serr, np.abs(ns[:, l, :, 0, :].transpose(1, 0, 2) - hh.numpy()).max())
            if rnn_type == 'lstm':
                serr = max(serr, np.abs(ns[:, l, :, 1, :].transpose(1, 0, 2) - new_hs[l][1].numpy()).max())
    print(f"{rnn_type:4s} bidir={bidir} lengths={lengths} state={with_state}: probs err {err:.2e} state err {serr:.2e}")
    assert err < 1e-9 and serr < 1e-9

# The vectorised GEMM must equal the literal column-major definition (offsets, lds, ops).
_r = np.random.default_rng(1)
for _ta in 'NT':
    for _tb in 'NT':
        _m, _n, _k = 4, 3, 5
        _lda, _ldb, _ldc = (_m if _ta == 'N' else _k) + 2, (_k if _tb == 'N' else _n) + 1, _m + 3
        _A, _B = _r.normal(size=_lda * 10), _r.normal(size=_ldb * 10)
        _C1 = np.zeros(_ldc * _n + 5)
        _C2 = _C1.copy()
        sgemm(_ta, _tb, _m, _n, _k, _A, _lda, _B, _ldb, _C1, _ldc, 1, 2, 3)
        sgemm_fast(_ta, _tb, _m, _n, _k, _A, _lda, _B, _ldb, _C2, _ldc, 1, 2, 3)
        assert np.allclose(_C1, _C2)

for rt in ['lstm', 'gru', 'rnn']:
    for bd in [True, False]:
        run_case(rt, bd, [23, 7, 40], False)
        run_case(rt, bd, [13, 30, 2], True)
run_case('lstm', True, [80], True)  # batch 1 (gemv), long + short graph replays
run_case('gru', False, [70, 9], True)
print("all ok")
