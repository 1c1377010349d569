"""Fused loops for the run engine: the same arithmetic as the reference code, in fewer passes.

The reference implementations (`TestFunction.partials`, `Optimizer.step`) are numpy
expressions: every operator is a pass over all points, with a temporary array, so a step of
Adam on the two-gaussian bowl is ~40 passes over memory and ~40 calls into numpy. Here the
same formulas run as numba loops, one pass per stage:

* an optimizer's step is one loop (`_advance` dispatches to it), or, for YellowFin, whose
  tuner takes sinh(arsinh(a) / 3), a loop, numpy's arcsinh and sinh in place, and a loop; and
* a function's gradient is numba loops for its arithmetic around numpy's own ufuncs for its
  transcendental functions (`fused_gradient`): e.g. the bowl's two exponents in one loop,
  `np.exp` on both (numpy's SIMD exp, the reference's exp), the gradient in a second loop.

The results are the reference's bit for bit: every operation is the same IEEE operation in
the same order (+, −, ×, ÷ and √ are correctly rounded; numba contracts nothing into fused
multiply-adds without fastmath), and the transcendental functions are numpy's.
`tests/test_fused.py` checks this for every entry against the reference on random inputs,
special values included. A function without a fused gradient (a typed function) simply runs
the reference code; the engine mixes both freely.

An optimizer's plan (`_plan`: its kernel, hyperparameters and per-step coefficients such as
bias corrections, computed in Python as the reference computes them) serves both ways of
running: `PlannedSteps` steps from Python, one call a step (the engine's per-step runs:
grids with gradient noise, typed functions), and a whole run (`whole_run` records,
`tracked_run` does record=False) does all its steps inside one compiled call when the
function's gradient can be called from compiled code (fused_gradients.compiled_kind: every
built-in function, with numpy's own exp, sin, cos, power and hypot loops, see
core/numpy_loops.py). For Eve, which steps on the loss, the whole-run loop also computes f
at every point (`compiled_value`) and stops a run whose loss is not finite, as the per-step
code does; YellowFin's tuner calls numpy's arcsinh and sinh loops (`_yellowfin_advance`),
its curvature window kept as (n, w) arrays beside the state planes. Without numpy's loops
YellowFin has no plan and `ReferenceSteps` runs `Optimizer.step`.

Why numba: it compiles these plain Python loops (no C toolchain at install), releases the
GIL, and caches the machine code on disk (`cache=True`), so the compilation (~0.2 s a
kernel) is paid once per machine. Its own exp/sin/cos are the C library's, which differ from
numpy's in the last bit: hence numpy's ufuncs in between, or their loops called directly.

Layout: the engine keeps points and every per-coordinate array as (2, n) C-contiguous
arrays (row 0 = x, row 1 = y); an optimizer's state as (S, 2, n) planes, an (n,) array in
row 0 of its plane (`_initial_state`).
"""

from __future__ import annotations

import numpy as np

from . import optimizers as opt
from . import fused_gradients
from .fused_gradients import (FRAME_WORDS, GRADIENTS, SCRATCH_ROWS, compiled_gradient, compiled_kind,
                              compiled_loops, compiled_value, inline as _inline, jit as _jit)
from .numpy_loops import ARCSINH, SINH, apply

_TINY = float(opt._TINY)  # Eve's floor of f − f*, the smallest positive normal float


def fused_gradient(function):
    """The fused gradient of `function` ((2, n) points -> new (2, n) gradient), or None."""
    maker = GRADIENTS.get(type(function))
    return None if maker is None else maker(function)


def steps_of(optimizer):
    """How the engine steps `optimizer` from Python: `PlannedSteps` if it has a plan, else
    `ReferenceSteps` (the same results)."""
    plan = _plan(optimizer)
    return ReferenceSteps(optimizer) if plan is None else PlannedSteps(optimizer, plan)


# ---------------------------------------------------------------------------------------
# The engine's per-step bookkeeping (see engine._Tracker)
# ---------------------------------------------------------------------------------------
_SUBNORMAL_ROOT = 2.0**-511  # below it a square is subnormal (or 0)


@_inline
def _finite(z):
    """Whether z is finite: z − z is 0 for a finite z and NaN for ±inf or NaN."""
    return z - z == 0


@_inline
def _all_finite(x, y, gx, gy):
    """Whether all four are finite: z − z is 0 for a finite z and NaN for ±inf or NaN
    (branch-free, so that loops calling it vectorize)."""
    return ((x - x) + (y - y) + (gx - gx) + (gy - gy)) == 0


@_inline
def _without_tiny(d, tiny):
    """d, or +0 if |d| < tiny (NaN and ±inf stay)."""
    return 0.0 if abs(d) < tiny else d


@_inline
def squares_tiny(squared_bound):
    """The size below which `later_mark` may square a difference as 0 (see `track`)."""
    return _SUBNORMAL_ROOT if squared_bound >= 2.0**-900 else 0.0


@_inline
def later_mark(since, dx, dy, squared_bound, t1, tiny):
    """max(since, copysign(t1, dx² + (dy² − squared_bound))), a difference below tiny squared as 0."""
    dx, dy = _without_tiny(dx, tiny), _without_tiny(dy, tiny)
    mark = np.copysign(t1, dx * dx + (dy * dy - squared_bound))
    return mark if mark > since else since


@_jit
def track(x, y, gx, gy, mx, my, squared_tolerance, squared_gradient_tolerance, since, t1):
    """For each listed minimum k and point i:
        excess = (x − mx)² + ((y − my)² − tolerance²);   since[k] = max(since[k], copysign(t1, excess))
    and for the gradient (row K): gx² + (gy² − gradient tolerance²). Returns whether every
    point and gradient is finite. Branch-free loops, so that they vectorize.

    Only the sign of `excess` is used, and a difference below 2⁻⁵¹¹ is squared as 0 when
    tolerance² ≥ 2⁻⁹⁰⁰: its square (< 2⁻¹⁰²², subnormal) cannot change that sign. (Then
    (y − my)² − tolerance² is −tolerance² exactly, or 0, or at least 2⁻⁹⁵³ in size, as both
    terms are multiples of 2⁻⁹⁵³; adding a square below 2⁻¹⁰²² keeps its sign.) This
    matters for speed only: a run converging along y = 0 squares numbers down to 1e-200,
    and the CPU computes each subnormal result in microcode, ~100 times slower."""
    n, k_minima = x.shape[0], mx.shape[0]
    tiny = squares_tiny(squared_tolerance)
    for k in range(k_minima):
        row = since[k]
        for i in range(n):
            row[i] = later_mark(row[i], x[i] - mx[k], y[i] - my[k], squared_tolerance, t1, tiny)
    row = since[k_minima]
    tiny = squares_tiny(squared_gradient_tolerance)
    not_finite = False
    for i in range(n):
        row[i] = later_mark(row[i], gx[i], gy[i], squared_gradient_tolerance, t1, tiny)
        not_finite |= not _all_finite(x[i], y[i], gx[i], gy[i])
    return not not_finite


@_jit
def conclude(x, y, gx, gy, mx, my, squared_tolerance, squared_gradient_tolerance, inside_from, flat_from,
             label, converged_since):
    """engine._Landscape.conclude for final points (x, y) and gradients (gx, gy): per point the
    nearest listed minimum (numpy's argmin of the excesses: the first smallest, or the first
    NaN) if strictly inside its ball, else −2 if the gradient is small, else −1; and the
    step from which that held (inside_from (K, n), flat_from (n,)), −1 for label −1."""
    for i in range(x.shape[0]):
        found, since = -1, -1.0
        if np.signbit(gx[i] * gx[i] + (gy[i] * gy[i] - squared_gradient_tolerance)):
            found, since = -2, flat_from[i]
        nearest, smallest = -1, 0.0
        for k in range(mx.shape[0]):
            dx = x[i] - mx[k]
            dy = y[i] - my[k]
            excess = dx * dx + (dy * dy - squared_tolerance)
            if nearest < 0 or excess < smallest or (excess != excess and smallest == smallest):
                nearest, smallest = k, excess
        if nearest >= 0 and np.signbit(smallest):
            found, since = nearest, inside_from[nearest, i]
        label[i], converged_since[i] = found, int(since)


@_inline
def _lerp(start, end, weight):
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


@_inline
def _decayed(p, g, lr, weight_decay, decoupled):
    """optimizers._weight_decay: (p, g + λp) coupled, ((1 − γλ)p, g) decoupled, for λ ≠ 0."""
    if weight_decay == 0:
        return p, g
    if decoupled:
        return p * (1 - lr * weight_decay), g
    return p, g + weight_decay * p


@_inline
def _maximum(a, b):
    """np.maximum: NaN if either is NaN; b on a tie (max(0, −0) is −0, as numpy's)."""
    if a > b or a != a:
        return a
    return b


@_inline
def _minimum(a, b):
    """np.minimum: NaN if either is NaN; b on a tie (min(−0, 0) is 0, as numpy's)."""
    if a < b or a != a:
        return a
    return b


@_inline
def _sign(a):
    """np.sign: ±1, 0 for ±0, NaN for NaN."""
    if a > 0:
        return 1.0
    if a < 0:
        return -1.0
    if a == 0:
        return 0.0
    return a


# Each optimizer's step on one coordinate (an "element", see fused_gradients.inline): the
# new coordinate and state. The loops below run them over (2, n) planes; core/fused_pairs.py
# runs them inside its per-pair passes.
@_inline
def _sgd_at(p, g, lr, weight_decay):
    g = _decayed(p, g, lr, weight_decay, False)[1]
    return p - lr * g


@_inline
def _heavy_ball_at(p, g, b, first, lr, momentum, dampening, weight_decay, nesterov):
    g = _decayed(p, g, lr, weight_decay, False)[1]
    b = g if first else momentum * b + (1 - dampening) * g
    if nesterov:
        return p - lr * (g + momentum * b), b
    return p - lr * b, b


@_inline
def _rmsprop_at(p, g, v, gbar, b, lr, alpha, eps, weight_decay, momentum, centered):
    g = _decayed(p, g, lr, weight_decay, False)[1]
    v = alpha * v + (1 - alpha) * g * g
    if centered:
        gbar = _lerp(gbar, g, 1 - alpha)
        avg = np.sqrt(v - gbar * gbar) + eps
    else:
        avg = np.sqrt(v) + eps
    if momentum > 0:
        b = momentum * b + g / avg
        return p - lr * b, v, gbar, b
    return p - lr * g / avg, v, gbar, b


@_inline
def _adam_at(p, g, m, v, v_max, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, bias_correction,
             step_size, bias_correction2_sqrt):
    """(p, m, v, v_max): v before the AMSGrad maximum, v_max after it."""
    p, g = _decayed(p, g, lr, weight_decay, decoupled)
    m = _lerp(m, g, 1 - beta1)
    v = beta2 * v + (1 - beta2) * g * g
    denominator = v
    if amsgrad:
        v_max = _maximum(v_max, v)
        denominator = v_max
    if bias_correction:
        return p - step_size * m / (np.sqrt(denominator) / bias_correction2_sqrt + eps), m, v, v_max
    return p - lr * m / (np.sqrt(denominator) + eps), m, v, v_max


@_inline
def _nadam_at(p, g, m, v, product, lr, beta1, beta2, eps, weight_decay, decoupled, mu, mu_next,
              bias_correction2):
    """product: this step's μ product (the point's, shared by its coordinates)."""
    p, g = _decayed(p, g, lr, weight_decay, decoupled)
    m = _lerp(m, g, 1 - beta1)
    v = beta2 * v + (1 - beta2) * g * g
    denom = np.sqrt(v / bias_correction2) + eps
    grad_size = -lr * (1.0 - mu) / (1.0 - product)
    momentum_size = (-lr * mu_next) / (1.0 - product * mu_next)
    p = p + grad_size * g / denom
    return p + momentum_size * m / denom, m, v


@_inline
def _radam_at(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, bias_correction1,
              bias_correction2_sqrt, rectified, rect):
    p, g = _decayed(p, g, lr, weight_decay, decoupled)
    m = _lerp(m, g, 1 - beta1)
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / bias_correction1
    if rectified:
        adaptive_lr = bias_correction2_sqrt / (np.sqrt(v) + eps)
        return p - m_hat * lr * adaptive_lr * rect, m, v
    return p - m_hat * lr, m, v


@_inline
def _adamax_at(p, g, m, u, lr, beta1, beta2, eps, weight_decay, step_size):
    p, g = _decayed(p, g, lr, weight_decay, False)
    m = _lerp(m, g, 1 - beta1)
    u = _maximum(beta2 * u, abs(g) + eps)
    return p - step_size * m / u, m, u


@_inline
def _adagrad_at(p, g, total, lr, eps, weight_decay, step_size):
    p, g = _decayed(p, g, lr, weight_decay, False)
    total = total + g * g
    return p - step_size * g / (np.sqrt(total) + eps), total


@_inline
def _adadelta_at(p, g, v, u, lr, rho, eps, weight_decay):
    p, g = _decayed(p, g, lr, weight_decay, False)
    v = rho * v + (1 - rho) * g * g
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    return p - lr * delta, v, rho * u + (1 - rho) * delta * delta


@_inline
def _lion_at(p, g, m, lr, beta1, beta2, weight_decay):
    direction = _sign(beta1 * m + (1 - beta1) * g)
    p, g = _decayed(p, g, lr, weight_decay, True)
    return p - lr * direction, beta2 * m + (1 - beta2) * g


@_inline
def _adabelief_at(p, g, m, s, lr, beta1, beta2, eps, bias_correction1, bias_correction2):
    m = beta1 * m + (1 - beta1) * g
    surprise = g - m
    s = beta2 * s + (1 - beta2) * surprise * surprise + eps
    m_hat = m / bias_correction1
    s_hat = s / bias_correction2
    return p - lr * m_hat / (np.sqrt(s_hat) + eps), m, s


@_jit
def _sgd(p, g, lr, weight_decay, out):
    for c in range(2):
        for i in range(p.shape[1]):
            out[c, i] = _sgd_at(p[c, i], g[c, i], lr, weight_decay)


@_jit
def _heavy_ball(p, g, b, first, lr, momentum, dampening, weight_decay, nesterov, out_p, out_b):
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_b[c, i] = _heavy_ball_at(p[c, i], g[c, i], b[c, i], first, lr, momentum, dampening,
                                                      weight_decay, nesterov)


@_jit
def _rmsprop(p, g, v, gbar, b, lr, alpha, eps, weight_decay, momentum, centered,
             out_p, out_v, out_gbar, out_b):
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_v[c, i], out_gbar[c, i], out_b[c, i] = _rmsprop_at(
                p[c, i], g[c, i], v[c, i], gbar[c, i], b[c, i], lr, alpha, eps, weight_decay, momentum, centered)


@_jit
def _adam(p, g, m, v, v_max, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad,
          bias_correction, step_size, bias_correction2_sqrt, out_p, out_m, out_v, out_v_max):
    """v_max, out_v_max: AMSGrad's plane, touched only with amsgrad (Adam's state has none)."""
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_m[c, i], out_v[c, i], new_v_max = _adam_at(
                p[c, i], g[c, i], m[c, i], v[c, i], v_max[c, i] if amsgrad else 0.0, lr, beta1, beta2, eps,
                weight_decay, decoupled, amsgrad, bias_correction, step_size, bias_correction2_sqrt)
            if amsgrad:
                out_v_max[c, i] = new_v_max


@_jit
def _nadam(p, g, m, v, mu_product, lr, beta1, beta2, eps, weight_decay, decoupled, mu, mu_next,
           bias_correction2, out_p, out_m, out_v, out_mu_product):
    for i in range(p.shape[1]):
        out_mu_product[i] = mu_product[i] * mu
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_m[c, i], out_v[c, i] = _nadam_at(
                p[c, i], g[c, i], m[c, i], v[c, i], out_mu_product[i], lr, beta1, beta2, eps, weight_decay,
                decoupled, mu, mu_next, bias_correction2)


@_jit
def _radam(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, bias_correction1,
           bias_correction2_sqrt, rectified, rect, out_p, out_m, out_v):
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_m[c, i], out_v[c, i] = _radam_at(
                p[c, i], g[c, i], m[c, i], v[c, i], lr, beta1, beta2, eps, weight_decay, decoupled,
                bias_correction1, bias_correction2_sqrt, rectified, rect)


@_jit
def _adamax(p, g, m, u, lr, beta1, beta2, eps, weight_decay, step_size, out_p, out_m, out_u):
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_m[c, i], out_u[c, i] = _adamax_at(p[c, i], g[c, i], m[c, i], u[c, i], lr, beta1, beta2,
                                                               eps, weight_decay, step_size)


@_jit
def _adagrad(p, g, total, lr, eps, weight_decay, step_size, out_p, out_total):
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_total[c, i] = _adagrad_at(p[c, i], g[c, i], total[c, i], lr, eps, weight_decay,
                                                       step_size)


@_jit
def _adadelta(p, g, v, u, lr, rho, eps, weight_decay, out_p, out_v, out_u):
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_v[c, i], out_u[c, i] = _adadelta_at(p[c, i], g[c, i], v[c, i], u[c, i], lr, rho, eps,
                                                                 weight_decay)


@_jit
def _lion(p, g, m, lr, beta1, beta2, weight_decay, out_p, out_m):
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_m[c, i] = _lion_at(p[c, i], g[c, i], m[c, i], lr, beta1, beta2, weight_decay)


@_jit
def _adabelief(p, g, m, s, lr, beta1, beta2, eps, bias_correction1, bias_correction2, out_p, out_m, out_s):
    for c in range(2):
        for i in range(p.shape[1]):
            out_p[c, i], out_m[c, i], out_s[c, i] = _adabelief_at(p[c, i], g[c, i], m[c, i], s[c, i], lr, beta1,
                                                                  beta2, eps, bias_correction1, bias_correction2)


@_jit
def _eve(p, g, m, v, d, loss_hat, loss, first, lr, beta1, beta2, beta3, eps, f_star, rising_clip, falling_clip,
         bias_correction1, bias_correction2, out_p, out_m, out_v, out_d, out_loss_hat):
    for i in range(p.shape[1]):
        gap = _maximum(loss[i] - f_star, _TINY)
        if first:
            hat, di = gap, 1.0
        else:
            previous = loss_hat[i]
            low, high = rising_clip if gap >= previous else falling_clip
            ratio = _minimum(_maximum(low, gap / previous), high)
            hat = _maximum(ratio * previous, _TINY)
            r = abs(hat - previous) / _minimum(hat, previous)
            di = beta3 * d[i] + (1 - beta3) * r
        out_d[i], out_loss_hat[i] = di, hat
        for c in range(2):
            gi = g[c, i]
            mi = beta1 * m[c, i] + (1 - beta1) * gi
            vi = beta2 * v[c, i] + (1 - beta2) * gi * gi
            out_m[c, i], out_v[c, i] = mi, vi
            m_hat = mi / bias_correction1
            v_hat = vi / bias_correction2
            out_p[c, i] = p[c, i] - lr * m_hat / (di * np.sqrt(v_hat) + eps)


# YellowFin's step is three stages, as its tuner takes sinh(arsinh(a) / 3), which must be
# numpy's: _yellowfin_measure (the running averages and the tuner's inputs, a among them),
# then numpy's arcsinh, / 3 and numpy's sinh in place on a copy of a, then _yellowfin_move
# (the tuned values and the step); `_yellowfin_advance` calls the three.
_A, _SINH, _FALLBACK, _BOUND_GAP, _H_MIN = range(5)  # the rows of the tuner's scratch array


@_jit
def _yellowfin_measure(g, curvatures, h_min_avg, h_max_avg, grad_avg, grad_norm_sq_avg, grad_norm_avg, dist_avg,
                       first, beta, debias, sqrt_13_5, out_curvatures, out_h_min_avg, out_h_max_avg, out_grad_avg,
                       out_grad_norm_sq_avg, out_grad_norm_avg, out_dist_avg, tuner, regular, measured):
    """The new averages (YellowFin.step), the estimates (YellowFin.estimates) and, per point, the
    inputs of yellowfin_single_step's last part in `tuner`, `regular` and `measured`."""
    width = out_curvatures.shape[1]
    for i in range(g.shape[1]):
        g0, g1 = g[0, i], g[1, i]
        h = g0 * g0 + g1 * g1
        # the window of the last `width` values of h: shifted by one, or filled at t = 1
        window = out_curvatures[i]
        for j in range(width - 1):
            window[j] = h if first else curvatures[i, j + 1]
        window[width - 1] = h
        # its min and max (NaN if one is NaN): as every h is ≥ +0 or NaN, a NaN flag and plain
        # comparisons give numpy's results, faster than a chain of _minimum
        lowest = highest = h
        not_a_number = h != h
        for j in range(width - 1):
            x = window[j]
            lowest = x if x < lowest else lowest
            highest = x if x > highest else highest
            not_a_number |= x != x
        if not_a_number:
            lowest = highest = np.nan
        norm_sq_avg = beta * grad_norm_sq_avg[i] + (1 - beta) * h
        norm_avg = beta * grad_norm_avg[i] + (1 - beta) * np.sqrt(h)
        min_avg = beta * h_min_avg[i] + (1 - beta) * lowest
        max_avg = beta * h_max_avg[i] + (1 - beta) * highest
        avg0 = beta * grad_avg[0, i] + (1 - beta) * g0
        avg1 = beta * grad_avg[1, i] + (1 - beta) * g1
        dist = beta * dist_avg[i] + (1 - beta) * (norm_avg / norm_sq_avg if norm_sq_avg != 0 else 0.0)
        out_grad_norm_sq_avg[i], out_grad_norm_avg[i] = norm_sq_avg, norm_avg
        out_h_min_avg[i], out_h_max_avg[i], out_dist_avg[i] = min_avg, max_avg, dist
        out_grad_avg[0, i], out_grad_avg[1, i] = avg0, avg1
        # the estimates
        h_min, h_max = min_avg / debias, max_avg / debias
        debiased0, debiased1 = avg0 / debias, avg1 / debias
        variance = _maximum(norm_sq_avg / debias - (debiased0 * debiased0 + debiased1 * debiased1), 0.0)
        distance = dist / debias
        # yellowfin_single_step up to its sinh(arsinh(a) / 3)
        measured[i] = h_max > 0
        if not measured[i]:
            h_max = 1.0
        root_min, root_max = np.sqrt(h_min), np.sqrt(h_max)
        scale = distance * h_min
        a = sqrt_13_5 * np.sqrt(variance) / (scale if scale > 0 else 1.0)
        regular[i] = scale > 0 and a > 0 and np.isfinite(a)
        tuner[_A, i] = a if regular[i] else 1.0
        tuner[_FALLBACK, i] = 1.0 if scale > 0 and variance == 0 else 0.0
        tuner[_BOUND_GAP, i] = 2 * root_min / (root_max + root_min)
        tuner[_H_MIN, i] = h_min


@_jit
def _yellowfin_move(p, g, velocity, tuned_lr, tuned_momentum, beta, tuner, regular, measured,
                    out_p, out_velocity, out_tuned_lr, out_tuned_momentum):
    """The rest of yellowfin_single_step, the tuned values' averages and the step."""
    for i in range(p.shape[1]):
        lr_t, momentum_t = tuned_lr[i], tuned_momentum[i]
        if measured[i]:
            root_gap = 3 * tuner[_SINH, i] / tuner[_A, i] if regular[i] else tuner[_FALLBACK, i]
            gap = _minimum(root_gap, tuner[_BOUND_GAP, i])
            h_min = tuner[_H_MIN, i]
            momentum_t = (1 - gap) * (1 - gap)
            lr_t = gap * gap / h_min if h_min != 0 else 0.0
        lr = beta * tuned_lr[i] + (1 - beta) * lr_t
        momentum = beta * tuned_momentum[i] + (1 - beta) * momentum_t
        out_tuned_lr[i], out_tuned_momentum[i] = lr, momentum
        for c in range(2):
            vi = momentum * velocity[c, i] - lr * g[c, i]
            out_velocity[c, i] = vi
            out_p[c, i] = p[c, i] + vi


# ---------------------------------------------------------------------------------------
# Whole runs inside numba, for a function with a compiled gradient (fused_gradients.
# compiled_kind) and an optimizer with a plan (every optimizer): no Python per step.
# The same kernels as the per-step code, so the same bits (tests/test_fused.py).
# ---------------------------------------------------------------------------------------
SGD, HEAVY_BALL, RMSPROP, ADAM, NADAM, RADAM, ADAMAX, ADAGRAD, ADADELTA, LION, ADABELIEF, EVE, YELLOWFIN = range(13)
BLOCK = 2048  # points a tracked run moves through all their steps at a time (their arrays fit in L2)


@_jit
def _advance(kind, p, g, s, s_new, h, c, out_p, loss, window, window_new, loops, frame):
    """One step of optimizer `kind` on (2, n) planes: state planes s -> s_new, hyperparameters
    h, this step's coefficients c (computed in Python, as the per-step code does). Used by
    Eve only: loss (n,), f at p; by YellowFin only: its curvature windows (n, w), window ->
    window_new, and numpy's loops (loops, frame)."""
    if kind == SGD:
        _sgd(p, g, h[0], h[1], out_p)
    elif kind == HEAVY_BALL:
        _heavy_ball(p, g, s[0], c[0] != 0, h[0], h[1], h[2], h[3], h[4] != 0, out_p, s_new[0])
    elif kind == RMSPROP:
        _rmsprop(p, g, s[0], s[1], s[2], h[0], h[1], h[2], h[3], h[4], h[5] != 0, out_p, s_new[0], s_new[1], s_new[2])
    elif kind == ADAM:
        _adam(p, g, s[0], s[1], s[2], h[0], h[1], h[2], h[3], h[4], h[5] != 0, h[6] != 0, h[7] != 0, c[0], c[1],
              out_p, s_new[0], s_new[1], s_new[2])
    elif kind == NADAM:
        _nadam(p, g, s[0], s[1], s[2, 0], h[0], h[1], h[2], h[3], h[4], h[5] != 0, c[0], c[1], c[2],
               out_p, s_new[0], s_new[1], s_new[2, 0])
    elif kind == RADAM:
        _radam(p, g, s[0], s[1], h[0], h[1], h[2], h[3], h[4], h[5] != 0, c[0], c[1], c[2] != 0, c[3],
               out_p, s_new[0], s_new[1])
    elif kind == ADAMAX:
        _adamax(p, g, s[0], s[1], h[0], h[1], h[2], h[3], h[4], c[0], out_p, s_new[0], s_new[1])
    elif kind == ADAGRAD:
        _adagrad(p, g, s[0], h[0], h[1], h[2], c[0], out_p, s_new[0])
    elif kind == ADADELTA:
        _adadelta(p, g, s[0], s[1], h[0], h[1], h[2], h[3], out_p, s_new[0], s_new[1])
    elif kind == LION:
        _lion(p, g, s[0], h[0], h[1], h[2], h[3], out_p, s_new[0])
    elif kind == ADABELIEF:
        _adabelief(p, g, s[0], s[1], h[0], h[1], h[2], h[3], c[0], c[1], out_p, s_new[0], s_new[1])
    elif kind == EVE:
        _eve(p, g, s[0], s[1], s[2, 0], s[3, 0], loss, c[0] != 0, h[0], h[1], h[2], h[3], h[4], h[5],
             (h[6], h[7]), (h[8], h[9]), c[1], c[2], out_p, s_new[0], s_new[1], s_new[2, 0], s_new[3, 0])
    else:
        _yellowfin_advance(p, g, s, s_new, window, window_new, h, c, out_p, loops, frame)


@_jit
def _yellowfin_advance(p, g, s, s_new, window, window_new, h, c, out_p, loops, frame):
    """YellowFin's step (_yellowfin_step) on the planes of `_yellowfin_initial` and the
    curvature windows (n, w), with numpy's arcsinh and sinh loops called from here."""
    n = p.shape[1]
    tuner, regular, measured = np.empty((5, n)), np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_)
    _yellowfin_measure(g, window, s[2, 0], s[3, 0], s[1], s[4, 0], s[5, 0], s[6, 0], c[0] != 0, h[0], c[1], h[1],
                       window_new, s_new[2, 0], s_new[3, 0], s_new[1], s_new[4, 0], s_new[5, 0], s_new[6, 0],
                       tuner, regular, measured)
    sinh = tuner[_SINH]
    sinh[:] = tuner[_A]
    apply(loops, ARCSINH, frame, sinh)
    for i in range(n):
        sinh[i] = sinh[i] / 3
    apply(loops, SINH, frame, sinh)
    _yellowfin_move(p, g, s[0], s[7, 0], s[8, 0], h[0], tuner, regular, measured,
                    out_p, s_new[0], s_new[7, 0], s_new[8, 0])


@_jit
def _filled(initial, n):
    """(S, 2, n) state planes, every point's equal to initial (S, 2)."""
    planes = np.empty((initial.shape[0], 2, n))
    for k in range(initial.shape[0]):
        for c in range(2):
            planes[k, c, :] = initial[k, c]
    return planes


@_jit
def _gradient_and_loss(function_kind, function_params, kind, p, g, loss, scratch, loops, frame):
    """g = ∇f(p), and loss = f(p) if optimizer `kind` needs it (Eve)."""
    compiled_gradient(function_kind, function_params, p, g, scratch, loops, frame)
    if kind == EVE:
        compiled_value(function_kind, function_params, p, loss, scratch, loops, frame)


@_jit
def _record_run(function_kind, function_params, loops, kind, h, coefficients, initial, width, xy, draws, scale,
                points, gradients):
    """points[t], gradients[t] for t = 0..T ((T+1, 2, n) each) from the starts xy (2, n), the
    initial state `initial` (S, 2) of every point and YellowFin's window width (else 0). With
    gradient noise, step t's optimizer sees g + scale * draws[t − 1] (draws (T, 2, n); (0, 2, n)
    without noise): what engine._ChunkNoise adds; the recorded gradients are exact."""
    p, new_p = xy.copy(), np.empty_like(xy)
    g, loss = np.empty_like(xy), np.empty(xy.shape[1])
    scratch, frame = np.empty(SCRATCH_ROWS * xy.shape[1]), np.empty(FRAME_WORDS, dtype=np.uint64)
    s = _filled(initial, xy.shape[1])
    s_new = s.copy()  # planes a step does not write stay equal in both
    window, window_new = np.zeros((xy.shape[1], width)), np.zeros((xy.shape[1], width))
    seen = np.empty_like(g)  # the gradient the optimizer sees
    _gradient_and_loss(function_kind, function_params, kind, p, g, loss, scratch, loops, frame)
    points[0], gradients[0] = p, g
    for t in range(1, points.shape[0]):
        step_gradient = g
        if draws.shape[0]:
            _add_noise(g, draws[t - 1], scale, seen)
            step_gradient = seen
        _advance(kind, p, step_gradient, s, s_new, h, coefficients[t], new_p, loss, window, window_new, loops, frame)
        _gradient_and_loss(function_kind, function_params, kind, new_p, g, loss, scratch, loops, frame)
        points[t], gradients[t] = new_p, g
        p, new_p = new_p, p
        s, s_new = s_new, s
        window, window_new = window_new, window


@_jit
def _add_noise(g, draw, scale, out):
    """out = g + scale * draw, numpy's `grad + self.scale * draw` (engine._ChunkNoise)."""
    for c in range(2):
        for i in range(g.shape[1]):
            out[c, i] = g[c, i] + scale * draw[c, i]


@_jit
def _finite_columns(kind, p, g, loss):
    """Per point: p, g and (for Eve, which steps on it) the loss all finite."""
    keep = np.empty(p.shape[1], dtype=np.bool_)
    for i in range(p.shape[1]):
        keep[i] = _all_finite(p[0, i], p[1, i], g[0, i], g[1, i]) and (kind != EVE or _finite(loss[i]))
    return keep


@_jit
def _loss_finite(kind, loss):
    """Whether every loss is finite, or the optimizer does not use it."""
    if kind != EVE:
        return True
    bad = False
    for i in range(loss.shape[0]):
        bad |= not _finite(loss[i])
    return not bad


@_jit
def _store(p, g, since, index, which, final, final_gradient, since_out):
    """Columns `which` of a block's points, gradients and tracker rows into the run's columns index."""
    for i in range(index.size):
        if which[i]:
            j = index[i]
            final[0, j], final[1, j] = p[0, i], p[1, i]
            final_gradient[0, j], final_gradient[1, j] = g[0, i], g[1, i]
            for k in range(since.shape[0]):
                since_out[k, j] = since[k, i]


@_jit
def _tracked_run(function_kind, function_params, loops, kind, h, coefficients, initial, width, xy, mx, my,
                 squared_tolerance, squared_gradient_tolerance, final, final_gradient, since_out, diverged_at):
    """record=False from the starts xy (2, n), every point's initial state `initial` (S, 2)
    and YellowFin's window width (else 0): what engine._Job._track computes step by step.
    Into final, final_gradient (2, n): each run's last finite point and its gradient;
    since_out (K+1, n): the tracker's rows (engine._Tracker); diverged_at (n,): the step at
    which the run went non-finite (left alone if it did not). Points move BLOCK at a time
    through all their steps, so their arrays stay in the CPU's cache; a run that diverges
    leaves its block's arrays (the rest never wait for it, nor run on its NaNs)."""
    n, steps = xy.shape[1], coefficients.shape[0] - 1
    frame = np.empty(FRAME_WORDS, dtype=np.uint64)
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        index = np.arange(lo, hi)
        p, s, window = xy[:, lo:hi].copy(), _filled(initial, hi - lo), np.zeros((hi - lo, width))
        g, loss = np.empty_like(p), np.empty(hi - lo)
        since = np.zeros((mx.shape[0] + 1, hi - lo))
        scratch = np.empty(SCRATCH_ROWS * (hi - lo))
        _gradient_and_loss(function_kind, function_params, kind, p, g, loss, scratch, loops, frame)
        finite = track(p[0], p[1], g[0], g[1], mx, my, squared_tolerance, squared_gradient_tolerance, since, 1.0)
        if not (finite and _loss_finite(kind, loss)):
            p, g, loss, s, window, since, index = _stop_diverged(kind, 0, p, g, p, g, loss, s, window, since, index,
                                                                 final, final_gradient, since_out, diverged_at)
        new_p, new_g, new_loss, s_new = np.empty_like(p), np.empty_like(p), np.empty_like(loss), s.copy()
        window_new = np.empty_like(window)
        for t in range(1, steps + 1):
            if index.size == 0:
                break
            _advance(kind, p, g, s, s_new, h, coefficients[t], new_p, loss, window, window_new, loops, frame)
            _gradient_and_loss(function_kind, function_params, kind, new_p, new_g, new_loss, scratch, loops, frame)
            finite = track(new_p[0], new_p[1], new_g[0], new_g[1], mx, my, squared_tolerance,
                           squared_gradient_tolerance, since, float(t + 1))
            if finite and _loss_finite(kind, new_loss):
                p, new_p, g, new_g, loss, new_loss, s, s_new = new_p, p, new_g, g, new_loss, loss, s_new, s
                window, window_new = window_new, window
            else:
                p, g, loss, s, window, since, index = _stop_diverged(
                    kind, t, p, g, new_p, new_g, new_loss, s_new, window_new, since, index, final, final_gradient,
                    since_out, diverged_at)
                new_p, new_g, new_loss, s_new = np.empty_like(p), np.empty_like(p), np.empty_like(loss), s.copy()
                window_new = np.empty_like(window)
        _store(p, g, since, index, np.ones(index.size, dtype=np.bool_), final, final_gradient, since_out)


@_jit
def _stop_diverged(kind, t, p, g, new_p, new_g, new_loss, s_new, window_new, since, index, final, final_gradient,
                   since_out, diverged_at):
    """Step t took some runs out of the finite numbers: store them at their last finite point
    p, g and return the others' step-t arrays (new_p, new_g, new_loss, s_new, window_new,
    since, index)."""
    keep = _finite_columns(kind, new_p, new_g, new_loss)
    _store(p, g, since, index, ~keep, final, final_gradient, since_out)
    for i in np.flatnonzero(~keep):
        diverged_at[index[i]] = t
    kept = np.flatnonzero(keep)
    return (new_p[:, keep], new_g[:, keep], new_loss[keep], s_new[:, :, keep], window_new[kept, :], since[:, keep],
            index[keep])


def _plan(o):
    """(kind, hyperparameters, coefficients(t)) of optimizer o for `_advance`, or None."""
    betas = getattr(o, "betas", (0.0, 0.0))
    b1, b2 = float(betas[0]), float(betas[1])
    wd = float(getattr(o, "weight_decay", 0.0))
    kind = type(o)
    if kind is opt.SGD:
        return SGD, (o.lr, wd), lambda t: ()
    if kind in (opt.Momentum, opt.Nesterov):
        nesterov = kind is opt.Nesterov
        return HEAVY_BALL, (o.lr, o.momentum, 0.0 if nesterov else o.dampening, wd, nesterov), lambda t: (t == 1,)
    if kind is opt.RMSprop:
        return RMSPROP, (o.lr, o.alpha, o.eps, wd, o.momentum, o.centered), lambda t: ()
    if kind in (opt.Adam, opt.AMSGrad, opt.AdamW):
        flags = (kind is opt.AdamW, kind is opt.AMSGrad, getattr(o, "bias_correction", True))
        return ADAM, (o.lr, b1, b2, o.eps, wd, *flags), lambda t: (o.lr / (1 - b1**t), (1 - b2**t) ** 0.5)
    if kind is opt.NAdam:
        def mu(t):
            return b1 * (1.0 - 0.5 * 0.96 ** (t * o.momentum_decay))
        return NADAM, (o.lr, b1, b2, o.eps, wd, o.decoupled_weight_decay), lambda t: (mu(t), mu(t + 1), 1 - b2**t)
    if kind is opt.RAdam:
        def rectified(t):
            rect = o._rectification(t)
            return (1 - b1**t, (1 - b2**t) ** 0.5, rect is not None, rect or 0.0)
        return RADAM, (o.lr, b1, b2, o.eps, wd, o.decoupled_weight_decay), rectified
    if kind is opt.Adamax:
        return ADAMAX, (o.lr, b1, b2, o.eps, wd), lambda t: (o.lr / (1 - b1**t),)
    if kind is opt.Adagrad:
        return ADAGRAD, (o.lr, o.eps, wd), lambda t: (o.lr / (1 + (t - 1) * o.lr_decay),)
    if kind is opt.Adadelta:
        return ADADELTA, (o.lr, o.rho, o.eps, wd), lambda t: ()
    if kind is opt.Lion:
        return LION, (o.lr, b1, b2, wd), lambda t: ()
    if kind is opt.AdaBelief:
        return ADABELIEF, (o.lr, b1, b2, o.eps), lambda t: (1 - b1**t, 1 - b2**t)
    if kind is opt.Eve:
        b3, k, big_k = float(o.betas[2]), o.lower_threshold, o.upper_threshold
        # (δ, Δ), the clipping range of the loss ratio, for a rising and a falling loss
        clips = (float(k + 1), float(big_k + 1), float(1 / (big_k + 1)), float(1 / (k + 1)))
        return EVE, (o.lr, b1, b2, b3, o.eps, o.f_star, *clips), lambda t: (t == 1, 1 - b1**t, 1 - b2**t)
    if kind is opt.YellowFin and fused_gradients.LOOPS is not None:  # its tuner takes numpy's arcsinh and sinh
        beta = float(o.beta)
        return YELLOWFIN, (beta, float(np.sqrt(13.5))), lambda t: (t == 1, 1 - beta**t)
    return None


def _coefficients(coefficients_at, steps) -> np.ndarray:
    """(len(steps), 4): in row i the coefficients of step steps[i], zero-padded."""
    rows = [coefficients_at(t) for t in steps]
    table = np.zeros((len(rows), 4))
    if rows and rows[0]:
        table[:, : len(rows[0])] = rows
    return table


def _run_coefficients(coefficients_at, steps: int) -> np.ndarray:
    """(steps + 1, 4) for a whole run: row t holds step t's coefficients (row 0 unused)."""
    return np.concatenate([np.zeros((1, 4)), _coefficients(coefficients_at, range(1, steps + 1))])


def _initial_state(optimizer):
    """The initial state of one point as (S, 2) planes ((n,) arrays in row 0) and YellowFin's
    window width (else 0): every optimizer with a plan starts from the same state at every
    point (zeros, ones, its initial accumulator; tests/test_fused.py checks)."""
    init = optimizer.init(np.zeros((1, 2)))
    if isinstance(optimizer, opt.YellowFin):
        return _yellowfin_initial(init), init.curvatures.shape[1]  # the window starts at 0, as init's
    initial = np.zeros((max(len(init), 1), 2))
    for plane, array in zip(initial, init):
        if array.ndim == 2:
            plane[:] = array[0]
        else:
            plane[0] = array[0]
    return initial, 0


def _yellowfin_initial(init: opt.YellowFinState) -> np.ndarray:
    """One point's YellowFin state but its curvature window as planes: velocity, ḡ, then the
    seven averages in row 0 of planes 2-8, in `_yellowfin_advance`'s order."""
    initial = np.zeros((9, 2))
    initial[0], initial[1] = init.velocity[0], init.grad_avg[0]
    averages = (init.h_min_avg, init.h_max_avg, init.grad_norm_sq_avg, init.grad_norm_avg, init.dist_avg,
                init.tuned_lr, init.tuned_momentum)
    initial[2:, 0] = [average[0] for average in averages]
    return initial


class PlannedSteps:
    """An optimizer's steps through its plan's kernel, on (2, n) points and gradients; the
    state is (planes (S, 2, n), YellowFin's window (n, w), else (n, 0))."""

    def __init__(self, optimizer, plan):
        self.kind, hyperparameters, self.coefficients_at = plan
        self.hyperparameters = np.array(hyperparameters, dtype=float)
        self.initial, self.width = _initial_state(optimizer)
        self.loops = compiled_loops()

    def init(self, n: int):
        return _filled(self.initial, n), np.zeros((n, self.width))

    def step(self, xy, grad, state, t: int, loss=None):
        """(new points, new state) after step t from points xy and gradients grad (2, n);
        loss (n,): f at xy (Eve steps on it)."""
        planes, window = state
        xy, grad = np.ascontiguousarray(xy), np.ascontiguousarray(grad)  # the engine's compactions give F order
        new_xy, new_planes, new_window = np.empty(xy.shape), planes.copy(order="C"), np.empty(window.shape)
        coefficients = _coefficients(self.coefficients_at, (t,))[0]
        _advance(self.kind, xy, grad, planes, new_planes, self.hyperparameters, coefficients, new_xy,
                 _NO_LOSS if loss is None else loss, window, new_window, self.loops,
                 np.empty(FRAME_WORDS, dtype=np.uint64))
        return new_xy, (new_planes, new_window)

    @staticmethod
    def take(state, keep):
        """The state of the points `keep` (a boolean mask)."""
        planes, window = state
        return planes[:, :, keep], window[keep]

    @staticmethod
    def unchanged(new_state, state):
        """Per point: whether a step left every state array equal, bit for bit."""
        (new_planes, new_window), (planes, window) = new_state, state
        return (new_planes == planes).all(axis=(0, 1)) & (new_window == window).all(axis=1)


class ReferenceSteps:
    """`Optimizer.step` on (2, n) points and gradients (for an optimizer without a plan)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer

    def init(self, n: int):
        return self.optimizer.init(np.zeros((n, 2)))

    def step(self, xy, grad, state, t: int, loss=None):
        params, state = self.optimizer.step(xy.T, grad.T, state, t, loss=loss)
        return np.ascontiguousarray(np.asarray(params, dtype=float).T), state

    @staticmethod
    def take(state, keep):
        return type(state)(*(a[keep] for a in state))

    @staticmethod
    def unchanged(new_state, state):
        same = True
        for new, old in zip(new_state, state):
            equal = np.asarray(new == old)
            same = same & (equal.reshape(len(equal), -1).all(1) if equal.ndim > 1 else equal)
        return same


_NO_LOSS = np.empty(0)


def _whole_run_parts(function, optimizer):
    """(function kind, its parameters, optimizer kind, hyperparameters, coefficients(t)), or
    None if the function has no compiled gradient or the optimizer no plan."""
    function_kind, plan = compiled_kind(function), _plan(optimizer)
    if function_kind is None or plan is None:
        return None
    (f_kind, f_params), (kind, hyperparameters, coefficients_at) = function_kind, plan
    return f_kind, f_params, kind, np.array(hyperparameters, dtype=float), coefficients_at


def whole_run(function, optimizer):
    """A recorded run of `optimizer` on `function` inside numba, when both allow it:
    `run(xy, steps, draws=None, scale=0.0) -> (points, gradients)`, (steps+1, 2, n) each, bit
    for bit what the per-step code records (with gradient noise: `draws`, the (steps, 2, n)
    standard normal numbers of engine._ChunkNoise, and its scale); else None."""
    parts = _whole_run_parts(function, optimizer)
    if parts is None:
        return None
    f_kind, f_params, kind, h, coefficients_at = parts
    loops, (initial, width) = compiled_loops(), _initial_state(optimizer)

    def run(xy, steps, draws=None, scale=0.0):
        xy = np.ascontiguousarray(xy)
        coefficients = _run_coefficients(coefficients_at, steps)
        points, gradients = np.empty((2, steps + 1) + xy.shape)
        draws = np.empty((0,) + xy.shape) if draws is None else np.ascontiguousarray(draws, dtype=float)
        _record_run(f_kind, f_params, loops, kind, h, coefficients, initial, width, xy, draws, float(scale),
                    points, gradients)
        return points, gradients

    return run


def tracked_run(function, optimizer):
    """A record=False run of `optimizer` on `function` inside numba, when both allow it:
    `run(xy, steps, minima, squared_tolerance, squared_gradient_tolerance) -> (final,
    final_gradient, since, diverged_at)` for the (2, n) starts xy and the (K, 2) listed
    minima, bit for bit what engine._Job._track computes step by step; else None."""
    parts = _whole_run_parts(function, optimizer)
    if parts is None:
        return None
    f_kind, f_params, kind, h, coefficients_at = parts
    loops, (initial, width) = compiled_loops(), _initial_state(optimizer)

    def run(xy, steps, minima, squared_tolerance, squared_gradient_tolerance):
        xy, mx, my, results = tracked_arrays(xy, minima)
        _tracked_run(f_kind, f_params, loops, kind, h, _run_coefficients(coefficients_at, steps), initial, width,
                     xy, mx, my, float(squared_tolerance), float(squared_gradient_tolerance), *results)
        return results

    return run


def tracked_arrays(xy, minima):
    """A tracked run's inputs as its loop takes them (the starts xy C-ordered (2, n), the
    minima's x and y) and its results to fill: (final, final_gradient, since, diverged_at),
    diverged_at −1 where a run does not diverge."""
    xy = np.ascontiguousarray(xy)
    n = xy.shape[1]
    results = (np.empty((2, n)), np.empty((2, n)), np.empty((len(minima) + 1, n)), np.full(n, -1))
    return xy, np.ascontiguousarray(minima[:, 0]), np.ascontiguousarray(minima[:, 1]), results
