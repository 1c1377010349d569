"""Fused loops for the run engine: the same arithmetic as the reference code, in fewer passes.

The reference implementations (`TestFunction.partials`, `Optimizer.step`) are numpy
expressions: every operator is a pass over all points, with a temporary array, so a step of
Adam on the two-gaussian bowl is ~40 passes over memory and ~40 calls into numpy. Here the
same formulas run as numba loops, one pass per stage:

* an optimizer's step is one loop (`fused_step`), and
* a function's gradient is numba loops for its arithmetic around numpy's own ufuncs for its
  transcendental functions (`fused_gradient`): e.g. the bowl's two exponents in one loop,
  `np.exp` on both (numpy's SIMD exp, the reference's exp), the gradient in a second loop.

The results are the reference's bit for bit: every operation is the same IEEE operation in
the same order (+, −, ×, ÷ and √ are correctly rounded; numba contracts nothing into fused
multiply-adds without fastmath), and the transcendental functions are numpy's.
`tests/test_fused.py` checks this for every entry against the reference on random inputs,
special values included. A function or optimizer without an entry (a typed function, Eve,
YellowFin) simply runs the reference code; the engine mixes both freely.

Why numba: it compiles these plain Python loops (no C toolchain at install), releases the
GIL, and caches the machine code on disk (`cache=True`), so the compilation (~0.2 s a
kernel) is paid once per machine. Its own exp/sin/cos are the C library's, which differ from
numpy's in the last bit and cannot be vectorized here: hence the numpy ufuncs in between.

Layout: the engine keeps points and every per-coordinate array as (2, n) C-contiguous
arrays (row 0 = x, row 1 = y); optimizers see them as (n, 2) transposed views. The kernels
take the (2, n) arrays.
"""

from __future__ import annotations

import numpy as np

from . import optimizers as opt
from .fused_gradients import GRADIENTS, jit as _jit


def fused_gradient(function):
    """The fused gradient of `function` ((2, n) points -> new (2, n) gradient), or None."""
    maker = GRADIENTS.get(type(function))
    return None if maker is None else maker(function)


def fused_step(optimizer):
    """The fused step of `optimizer`, with `Optimizer.step`'s signature and results, or None."""
    maker = _STEPS.get(type(optimizer))
    return None if maker is None else maker(optimizer)


# ---------------------------------------------------------------------------------------
# The engine's per-step bookkeeping (see engine._Tracker)
# ---------------------------------------------------------------------------------------
@_jit
def track(x, y, gx, gy, mx, my, squared_tolerance, squared_gradient_tolerance, since, t1):
    """For each listed minimum k and point i:
        excess = (x − mx)² + ((y − my)² − tolerance²);   since[k] = max(since[k], copysign(t1, excess))
    and for the gradient (row K): gx² + (gy² − gradient tolerance²). Returns whether every
    point and gradient is finite. Branch-free loops, so that they vectorize."""
    n, k_minima = x.shape[0], mx.shape[0]
    for k in range(k_minima):
        row = since[k]
        for i in range(n):
            dx = x[i] - mx[k]
            dy = y[i] - my[k]
            mark = np.copysign(t1, dx * dx + (dy * dy - squared_tolerance))
            row[i] = mark if mark > row[i] else row[i]
    row = since[k_minima]
    not_finite = False
    for i in range(n):
        mark = np.copysign(t1, gx[i] * gx[i] + (gy[i] * gy[i] - squared_gradient_tolerance))
        row[i] = mark if mark > row[i] else row[i]
        # z − z is 0 for a finite z and NaN for ±inf or NaN
        not_finite |= ((x[i] - x[i]) + (y[i] - y[i]) + (gx[i] - gx[i]) + (gy[i] - gy[i])) != 0
    return not not_finite


@_jit
def _lerp(start, end, weight):
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


@_jit
def _decayed(p, g, lr, weight_decay, decoupled):
    """optimizers._weight_decay: (p, g + λp) coupled, ((1 − γλ)p, g) decoupled, for λ ≠ 0."""
    if weight_decay == 0:
        return p, g
    if decoupled:
        return p * (1 - lr * weight_decay), g
    return p, g + weight_decay * p


@_jit
def _maximum(a, b):
    """np.maximum: NaN if either is NaN."""
    if a >= b or a != a:
        return a
    return b


@_jit
def _sign(a):
    """np.sign: ±1, 0 for ±0, NaN for NaN."""
    if a > 0:
        return 1.0
    if a < 0:
        return -1.0
    if a == 0:
        return 0.0
    return a


def _planes(params, grad, state):
    """(2, n) views of the engine's (n, 2) arrays (copies if some caller passes others)."""
    return (np.ascontiguousarray(params.T), np.ascontiguousarray(grad.T),
            [np.ascontiguousarray(a.T) for a in state])


def _new(like, count=1):
    return [np.empty_like(like) for _ in range(count)]


@_jit
def _sgd(p, g, lr, weight_decay, out):
    for c in range(2):
        for i in range(p.shape[1]):
            gi = _decayed(p[c, i], g[c, i], lr, weight_decay, False)[1]
            out[c, i] = p[c, i] - lr * gi


def _sgd_step(o: opt.SGD):
    lr, weight_decay = float(o.lr), float(o.weight_decay)

    def step(params, grad, state, t, loss=None):
        p, g, _ = _planes(params, grad, ())
        (new_p,) = _new(p)
        _sgd(p, g, lr, weight_decay, new_p)
        return new_p.T, state

    return step


@_jit
def _heavy_ball(p, g, b, first, lr, momentum, dampening, weight_decay, nesterov, out_p, out_b):
    for c in range(2):
        for i in range(p.shape[1]):
            gi = _decayed(p[c, i], g[c, i], lr, weight_decay, False)[1]
            if first:
                bi = gi
            else:
                bi = momentum * b[c, i] + (1 - dampening) * gi
            out_b[c, i] = bi
            if nesterov:
                out_p[c, i] = p[c, i] - lr * (gi + momentum * bi)
            else:
                out_p[c, i] = p[c, i] - lr * bi


def _heavy_ball_step(o, nesterov: bool):
    lr, momentum, weight_decay = float(o.lr), float(o.momentum), float(o.weight_decay)
    dampening = 0.0 if nesterov else float(o.dampening)

    def step(params, grad, state, t, loss=None):
        p, g, (b,) = _planes(params, grad, state)
        new_p, new_b = _new(p, 2)
        _heavy_ball(p, g, b, t == 1, lr, momentum, dampening, weight_decay, nesterov, new_p, new_b)
        return new_p.T, opt.Velocity(new_b.T)

    return step


@_jit
def _rmsprop(p, g, v, gbar, b, lr, alpha, eps, weight_decay, momentum, centered,
             out_p, out_v, out_gbar, out_b):
    for c in range(2):
        for i in range(p.shape[1]):
            gi = _decayed(p[c, i], g[c, i], lr, weight_decay, False)[1]
            vi = alpha * v[c, i] + (1 - alpha) * gi * gi
            out_v[c, i] = vi
            if centered:
                gbar_i = _lerp(gbar[c, i], gi, 1 - alpha)
                out_gbar[c, i] = gbar_i
                avg = np.sqrt(vi - gbar_i * gbar_i) + eps
            else:
                avg = np.sqrt(vi) + eps
            if momentum > 0:
                bi = momentum * b[c, i] + gi / avg
                out_b[c, i] = bi
                out_p[c, i] = p[c, i] - lr * bi
            else:
                out_p[c, i] = p[c, i] - lr * gi / avg


def _rmsprop_step(o: opt.RMSprop):
    args = (float(o.lr), float(o.alpha), float(o.eps), float(o.weight_decay), float(o.momentum), bool(o.centered))

    def step(params, grad, state, t, loss=None):
        p, g, (v, gbar, b) = _planes(params, grad, state)
        new_p, new_v, new_gbar, new_b = _new(p, 4)
        _rmsprop(p, g, v, gbar, b, *args, new_p, new_v, new_gbar, new_b)
        return new_p.T, opt.RMSpropState(
            new_v.T, new_gbar.T if o.centered else state.grad_avg, new_b.T if o.momentum > 0 else state.momentum_buffer)

    return step


@_jit
def _adam(p, g, m, v, v_max, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad,
          bias_correction, step_size, bias_correction2_sqrt, out_p, out_m, out_v, out_v_max):
    for c in range(2):
        for i in range(p.shape[1]):
            pi, gi = _decayed(p[c, i], g[c, i], lr, weight_decay, decoupled)
            mi = _lerp(m[c, i], gi, 1 - beta1)
            vi = beta2 * v[c, i] + (1 - beta2) * gi * gi
            out_m[c, i], out_v[c, i] = mi, vi
            if amsgrad:
                vi = _maximum(v_max[c, i], vi)
                out_v_max[c, i] = vi
            if bias_correction:
                out_p[c, i] = pi - step_size * mi / (np.sqrt(vi) / bias_correction2_sqrt + eps)
            else:
                out_p[c, i] = pi - lr * mi / (np.sqrt(vi) + eps)


def _adam_step(o):
    """Adam, AMSGrad and AdamW (optimizers._AdamFamily._adam_step)."""
    beta1, beta2 = (float(b) for b in o.betas)
    decoupled, amsgrad = isinstance(o, opt.AdamW), isinstance(o, opt.AMSGrad)
    bias_correction = bool(getattr(o, "bias_correction", True))
    lr, eps, weight_decay = float(o.lr), float(o.eps), float(o.weight_decay)

    def step(params, grad, state, t, loss=None):
        p, g, planes = _planes(params, grad, state)
        m, v = planes[:2]
        v_max = planes[2] if amsgrad else v
        new_p, new_m, new_v = _new(p, 3)
        new_v_max = np.empty_like(p) if amsgrad else new_v
        _adam(p, g, m, v, v_max, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, bias_correction,
              lr / (1 - beta1**t), (1 - beta2**t) ** 0.5, new_p, new_m, new_v, new_v_max)
        if amsgrad:
            return new_p.T, opt.AMSGradMoments(new_m.T, new_v.T, new_v_max.T)
        return new_p.T, opt.Moments(new_m.T, new_v.T)

    return step


@_jit
def _nadam(p, g, m, v, mu_product, lr, beta1, beta2, eps, weight_decay, decoupled, mu, mu_next,
           bias_correction2, out_p, out_m, out_v, out_mu_product):
    for i in range(p.shape[1]):
        out_mu_product[i] = mu_product[i] * mu
    for c in range(2):
        for i in range(p.shape[1]):
            pi, gi = _decayed(p[c, i], g[c, i], lr, weight_decay, decoupled)
            product = out_mu_product[i]
            mi = _lerp(m[c, i], gi, 1 - beta1)
            vi = beta2 * v[c, i] + (1 - beta2) * gi * gi
            out_m[c, i], out_v[c, i] = mi, vi
            denom = np.sqrt(vi / bias_correction2) + eps
            grad_size = -lr * (1.0 - mu) / (1.0 - product)
            momentum_size = (-lr * mu_next) / (1.0 - product * mu_next)
            pi = pi + grad_size * gi / denom
            out_p[c, i] = pi + momentum_size * mi / denom


def _nadam_step(o: opt.NAdam):
    beta1, beta2 = (float(b) for b in o.betas)
    lr, eps, weight_decay = float(o.lr), float(o.eps), float(o.weight_decay)
    decoupled, momentum_decay = bool(o.decoupled_weight_decay), float(o.momentum_decay)

    def step(params, grad, state, t, loss=None):
        p, g, (m, v, mu_product) = _planes(params, grad, state)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        new_p, new_m, new_v = _new(p, 3)
        new_mu_product = np.empty_like(mu_product)
        _nadam(p, g, m, v, mu_product, lr, beta1, beta2, eps, weight_decay, decoupled, mu, mu_next,
               1 - beta2**t, new_p, new_m, new_v, new_mu_product)
        return new_p.T, opt.NAdamState(new_m.T, new_v.T, new_mu_product)

    return step


@_jit
def _radam(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, bias_correction1,
           bias_correction2_sqrt, rectified, rect, out_p, out_m, out_v):
    for c in range(2):
        for i in range(p.shape[1]):
            pi, gi = _decayed(p[c, i], g[c, i], lr, weight_decay, decoupled)
            mi = _lerp(m[c, i], gi, 1 - beta1)
            vi = beta2 * v[c, i] + (1 - beta2) * gi * gi
            out_m[c, i], out_v[c, i] = mi, vi
            m_hat = mi / bias_correction1
            if rectified:
                adaptive_lr = bias_correction2_sqrt / (np.sqrt(vi) + eps)
                out_p[c, i] = pi - m_hat * lr * adaptive_lr * rect
            else:
                out_p[c, i] = pi - m_hat * lr


def _radam_step(o: opt.RAdam):
    beta1, beta2 = (float(b) for b in o.betas)
    lr, eps, weight_decay, decoupled = float(o.lr), float(o.eps), float(o.weight_decay), bool(o.decoupled_weight_decay)

    def step(params, grad, state, t, loss=None):
        p, g, (m, v) = _planes(params, grad, state)
        rect = o._rectification(t)
        new_p, new_m, new_v = _new(p, 3)
        _radam(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, 1 - beta1**t, (1 - beta2**t) ** 0.5,
               rect is not None, 0.0 if rect is None else float(rect), new_p, new_m, new_v)
        return new_p.T, opt.Moments(new_m.T, new_v.T)

    return step


@_jit
def _adamax(p, g, m, u, lr, beta1, beta2, eps, weight_decay, step_size, out_p, out_m, out_u):
    for c in range(2):
        for i in range(p.shape[1]):
            pi, gi = _decayed(p[c, i], g[c, i], lr, weight_decay, False)
            mi = _lerp(m[c, i], gi, 1 - beta1)
            ui = _maximum(beta2 * u[c, i], abs(gi) + eps)
            out_m[c, i], out_u[c, i] = mi, ui
            out_p[c, i] = pi - step_size * mi / ui


def _adamax_step(o: opt.Adamax):
    beta1, beta2 = (float(b) for b in o.betas)
    lr, eps, weight_decay = float(o.lr), float(o.eps), float(o.weight_decay)

    def step(params, grad, state, t, loss=None):
        p, g, (m, u) = _planes(params, grad, state)
        new_p, new_m, new_u = _new(p, 3)
        _adamax(p, g, m, u, lr, beta1, beta2, eps, weight_decay, lr / (1 - beta1**t), new_p, new_m, new_u)
        return new_p.T, opt.AdamaxState(new_m.T, new_u.T)

    return step


@_jit
def _adagrad(p, g, total, lr, eps, weight_decay, step_size, out_p, out_total):
    for c in range(2):
        for i in range(p.shape[1]):
            pi, gi = _decayed(p[c, i], g[c, i], lr, weight_decay, False)
            s = total[c, i] + gi * gi
            out_total[c, i] = s
            out_p[c, i] = pi - step_size * gi / (np.sqrt(s) + eps)


def _adagrad_step(o: opt.Adagrad):
    lr, eps, weight_decay, lr_decay = float(o.lr), float(o.eps), float(o.weight_decay), float(o.lr_decay)

    def step(params, grad, state, t, loss=None):
        p, g, (total,) = _planes(params, grad, state)
        new_p, new_total = _new(p, 2)
        _adagrad(p, g, total, lr, eps, weight_decay, lr / (1 + (t - 1) * lr_decay), new_p, new_total)
        return new_p.T, opt.AdagradState(new_total.T)

    return step


@_jit
def _adadelta(p, g, v, u, lr, rho, eps, weight_decay, out_p, out_v, out_u):
    for c in range(2):
        for i in range(p.shape[1]):
            pi, gi = _decayed(p[c, i], g[c, i], lr, weight_decay, False)
            vi = rho * v[c, i] + (1 - rho) * gi * gi
            delta = np.sqrt(u[c, i] + eps) / np.sqrt(vi + eps) * gi
            out_v[c, i] = vi
            out_u[c, i] = rho * u[c, i] + (1 - rho) * delta * delta
            out_p[c, i] = pi - lr * delta


def _adadelta_step(o: opt.Adadelta):
    args = (float(o.lr), float(o.rho), float(o.eps), float(o.weight_decay))

    def step(params, grad, state, t, loss=None):
        p, g, (v, u) = _planes(params, grad, state)
        new_p, new_v, new_u = _new(p, 3)
        _adadelta(p, g, v, u, *args, new_p, new_v, new_u)
        return new_p.T, opt.AdadeltaState(new_v.T, new_u.T)

    return step


@_jit
def _lion(p, g, m, lr, beta1, beta2, weight_decay, out_p, out_m):
    for c in range(2):
        for i in range(p.shape[1]):
            gi = g[c, i]
            direction = _sign(beta1 * m[c, i] + (1 - beta1) * gi)
            pi, gi = _decayed(p[c, i], gi, lr, weight_decay, True)
            out_m[c, i] = beta2 * m[c, i] + (1 - beta2) * gi
            out_p[c, i] = pi - lr * direction


def _lion_step(o: opt.Lion):
    beta1, beta2 = (float(b) for b in o.betas)
    lr, weight_decay = float(o.lr), float(o.weight_decay)

    def step(params, grad, state, t, loss=None):
        p, g, (m,) = _planes(params, grad, state)
        new_p, new_m = _new(p, 2)
        _lion(p, g, m, lr, beta1, beta2, weight_decay, new_p, new_m)
        return new_p.T, opt.FirstMoment(new_m.T)

    return step


@_jit
def _adabelief(p, g, m, s, lr, beta1, beta2, eps, bias_correction1, bias_correction2, out_p, out_m, out_s):
    for c in range(2):
        for i in range(p.shape[1]):
            gi = g[c, i]
            mi = beta1 * m[c, i] + (1 - beta1) * gi
            surprise = gi - mi
            si = beta2 * s[c, i] + (1 - beta2) * surprise * surprise + eps
            out_m[c, i], out_s[c, i] = mi, si
            m_hat = mi / bias_correction1
            s_hat = si / bias_correction2
            out_p[c, i] = p[c, i] - lr * m_hat / (np.sqrt(s_hat) + eps)


def _adabelief_step(o: opt.AdaBelief):
    beta1, beta2 = (float(b) for b in o.betas)
    lr, eps = float(o.lr), float(o.eps)

    def step(params, grad, state, t, loss=None):
        p, g, (m, s) = _planes(params, grad, state)
        new_p, new_m, new_s = _new(p, 3)
        _adabelief(p, g, m, s, lr, beta1, beta2, eps, 1 - beta1**t, 1 - beta2**t, new_p, new_m, new_s)
        return new_p.T, opt.BeliefMoments(new_m.T, new_s.T)

    return step


_STEPS = {
    opt.SGD: _sgd_step,
    opt.Momentum: lambda o: _heavy_ball_step(o, nesterov=False),
    opt.Nesterov: lambda o: _heavy_ball_step(o, nesterov=True),
    opt.RMSprop: _rmsprop_step,
    opt.Adam: _adam_step,
    opt.AMSGrad: _adam_step,
    opt.AdamW: _adam_step,
    opt.NAdam: _nadam_step,
    opt.RAdam: _radam_step,
    opt.Adamax: _adamax_step,
    opt.Adagrad: _adagrad_step,
    opt.Adadelta: _adadelta_step,
    opt.Lion: _lion_step,
    opt.AdaBelief: _adabelief_step,
}
