"""numpy's own elementwise loops (exp, sin, cos, power, hypot, arcsinh, sinh), callable from numba code.

The engine's compiled loops must give numpy's results bit for bit, and numpy's exp, sin, cos
and power (SIMD code, Intel's SVML on AVX-512 machines) differ in the last bit from the C
library's, which is what numba's `np.exp` calls. So a compiled kernel that needs exp calls
numpy's inner loop itself: NEP 43's `ufunc._resolve_dtypes_and_context` and
`ufunc._get_strided_loop` (numpy >= 1.24, added for numba) hand out the float64 -> float64
strided loop, the very function `np.exp(a, out=a)` runs, and `apply(loops, which, frame,
buffer)` calls it on a C-contiguous buffer in place, without Python and without the GIL;
`apply_binary` calls power or hypot with the strides numpy uses (for `np.power(a, 3)`, a
stride of 0 for the 3: numpy picks its code path by strides, so they must be the same).
Each element's result depends on that element alone, so calling the loop on a block of
points gives what numpy gives on the whole array.

LOOPS is None if this numpy does not offer the API; the callers then run numpy from Python
(see fused_gradients.compiled_kind). tests/test_numpy_loops.py checks that `apply` equals
the ufuncs bit for bit, special values included.
"""

from __future__ import annotations

import ctypes

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

UFUNCS = (np.exp, np.sin, np.cos, np.power, np.hypot, np.arcsinh, np.sinh)
EXP, SIN, COS, POWER, HYPOT, ARCSINH, SINH = range(len(UFUNCS))
FRAME_WORDS = 7  # the call's arguments: 3 data pointers, the length, 3 strides
_CAPSULE = b"numpy_1.24_ufunc_call_info"


@intrinsic
def _call(typingctx, loop, context, data, dimensions, strides, auxdata):
    """loop(context, data, dimensions, strides, auxdata): numpy's PyArrayMethod_StridedLoop,
    every argument an address."""
    signature = types.int32(*[types.uint64] * 6)

    def codegen(cgctx, builder, sig, args):
        pointer = ir.IntType(8).as_pointer()
        function = ir.FunctionType(ir.IntType(32), [pointer] * 5)
        callee = builder.inttoptr(args[0], function.as_pointer())
        return builder.call(callee, [builder.inttoptr(a, pointer) for a in args[1:]])

    return signature, codegen


@njit(cache=True, nogil=True)
def apply(loops, which, frame, buffer):
    """buffer[...] = ufunc `which` (EXP, SIN, COS, ARCSINH, SINH) of buffer, numpy's loop, in place.
    loops: LOOPS; frame: FRAME_WORDS uint64 of scratch; buffer C-contiguous."""
    address = buffer.ctypes.data
    frame[0] = address  # data: input, output
    frame[1] = address
    frame[2] = buffer.size  # dimensions
    frame[3] = 8  # strides
    frame[4] = 8
    base = frame.ctypes.data
    _call(loops[which, 0], loops[which, 1], base, base + 16, base + 24, loops[which, 2])


@njit(cache=True, nogil=True)
def apply_binary(loops, which, frame, a, b, b_stride, out):
    """out[...] = ufunc `which` (POWER, HYPOT) of a and b, numpy's loop: a and out C-contiguous
    of one size, b of that size (b_stride 8) or one number for all (b_stride 0)."""
    frame[0] = a.ctypes.data  # data: inputs, output
    frame[1] = b.ctypes.data
    frame[2] = out.ctypes.data
    frame[3] = out.size  # dimensions
    frame[4] = 8  # strides
    frame[5] = b_stride
    frame[6] = 8
    base = frame.ctypes.data
    _call(loops[which, 0], loops[which, 1], base, base + 24, base + 32, loops[which, 2])


def _strided_loops():
    """(len(UFUNCS), 3) uint64: each float64 loop's address, its context and auxdata, and the
    capsules that own the contexts (they must live as long as the loops are used); (None, ())
    if this numpy does not offer them."""
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    rows, capsules = [], []
    try:
        for ufunc in UFUNCS:
            _, call_info = ufunc._resolve_dtypes_and_context((np.dtype(float),) * ufunc.nin + (None,))
            ufunc._get_strided_loop(call_info)
            capsules.append(call_info)
            rows.append(list((ctypes.c_uint64 * 3).from_address(get_pointer(call_info, _CAPSULE))))
    except (AttributeError, TypeError, ValueError):
        return None, ()
    return np.array(rows, dtype=np.uint64), tuple(capsules)


LOOPS, _CAPSULES = _strided_loops()
