"""Stage 1 of the batch path as straight-line programs, for clauses that the exact lane computes entirely.

:mod:`techtransfer.policy.vector` walks a clause's tree on every row chunk and decides, node by node and chunk by
chunk, whether the exact lane applies, which masks are absent, whether to compact rows. Most clauses, on most
columns, take the same road every time: every number a decimal in the lane, no value the lane cannot spell, no
division but the cross-multiplied ``a / b ⋚ c``. For them those decisions depend on the columns alone (the lane's
scales and bounds are properties of whole columns), so they are taken **once**, when a clause is planned on a
:class:`~techtransfer.policy.vector.Columns` (:func:`program_for`), and what remains per chunk is a short chain of
numpy calls:

* Numbers are the lane's whole-number units (float32 below 2²⁴, float64 otherwise; the same scales, bounds and
  overflow checks as :mod:`vector`, so the same values exactly) with **NaN on unknown rows**. NaN carries
  "unknown" through arithmetic, min and max by itself, and an ordered comparison is false on it, so no unknown
  mask travels with a number: a comparison's code is ``2·yes + missing`` (``2·yes − missing`` for ``!=``, true
  on NaN), the missing mask being the facts' own (computed once per column) where the operands' unknown rows are
  exactly their facts' missing rows, and ``isnan`` otherwise. A float64 column compared with a number reads its
  float32 keys instead where no row rounds to the number's own float32 (checked once: rounding is monotone), and a
  column of small whole units reads int16 units with a sentinel on missing rows that makes the comparison false.
* Booleans are the int8 codes 0 false / 1 unknown / 2 true (``and`` = min, ``or`` = max, ``not`` = 2 − k) and,
  only where a quotient's divisor can be 0 (for a column divisor: where a row holds 0), a mask of the rows
  unknown without any missing fact (无法判定).
* ``x if c else y`` blends as ``y + take·(x − y)`` where both sides are known wherever ``c`` is, else selects
  bits exactly; where ``c`` is unknown exactly on its facts' missing rows, the result is left *lazy* (any number
  there) and a comparison masks those rows, anything else adds NaN to them first.
* No row compaction: gathering the open rows (``flatnonzero`` on a random mask, then a gather per column) costs
  more than computing every argument on every row.
* Facts read by a clause are analysed statically: which facts' absence *may* leave a value unknown and which
  *always* does. That decides, before any row is seen, how a choice is computed and whether an amount can be
  unknown where the condition holds (then the status is demoted as in :mod:`vector`).
* Float temporaries come from a per-thread pool, and the chunks write straight into the result arrays.

Anything else (``coalesce``, other divisions, lists of numbers, choices between judgements or texts, values the
lane cannot spell, bounds the lane refuses) keeps the general path of :mod:`vector` for that clause on those
columns. Where the program runs, the general path would have marked no row for stage 2 either (the lane marks
only values it cannot spell), so results, ``exact_rows`` included, are the same bytes
(``tests/test_fastpath.py``), on every chunk size and thread count.

No code is generated: a program is a tree of Python closures over numpy calls, built from the checked tree.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .expr import Node, T
from .vector import (
    _CMP_UFUNC,
    _FLIP,
    _LANE_LIMIT,
    K_FALSE,
    K_TRUE,
    K_UNK,
    Columns,
    _decided,
    _fits,
    _lane_scalar,
    _operand,
    _wide,
    node_key,
)

# The switch the tests use to compare this path with the general one (``tests/test_fastpath.py``).
ENABLED = True


class NotFast(Exception):
    """The clause (on these columns) is outside what a program computes: the general path evaluates it."""


# ---- derived columns, computed once per Columns (thread-safe through Columns._cached) --------------------------


def _units(columns: Columns, name: str) -> np.ndarray:
    """The lane's units of a number column with NaN on missing rows."""

    def make():
        units, _scale, _lo, _hi, unk, _bad = columns.decimal(name)
        if unk is None:
            return units
        out = units.copy()
        out[unk] = np.nan
        return out

    return columns._cached(("fast-units", name), make)


def _missing8(columns: Columns, facts: frozenset):
    """Rows where any of ``facts`` is missing, as int8 0/1, or None when no row misses any of them."""

    def make():
        out = None
        for name in sorted(facts):
            col = columns.data.get(name)
            if col is None:
                unk = np.ones(columns.n, dtype=bool)
            else:
                unk = col < 0 if col.dtype.kind in "iu" else np.isnan(col)
            out = unk if out is None else (out | unk)
        return out.view(np.int8) if out is not None and out.any() else False  # False: "none" (None: not made)

    found = columns._cached(("fast-missing", facts), make)
    return None if found is False else found


def _keys32(columns: Columns, name: str, units: int, column: np.ndarray, const):
    """(column, constant) to compare a float64 column of units with ``units``: its float32 keys and fl32(units)
    where that decides every row exactly, else the column itself.

    Rounding to float32 is monotone, so fl(x) < fl(c) implies x < c and fl(x) > fl(c) implies x > c; only rows
    where fl(x) = fl(c) are undecided, and the keys are used only when the column has none (checked once here).
    """
    key = np.float32(units)
    keys = columns._cached(("fast-keys32", name), lambda: column.astype(np.float32))
    ties = columns._cached(("fast-ties32", name, units), lambda: bool(np.any(keys == key)))
    return (column, const) if ties else (keys, key)


_INT16 = 2**15


def _ints16(columns: Columns, name: str, sym: str) -> np.ndarray:
    """The units of a column whose units lie within ±(2¹⁵ − 2) as int16, missing rows holding 2¹⁵ − 1 for ``<``
    and ``<=`` and −2¹⁵ otherwise: beyond every value and every constant compared with them, so the comparison is
    false there (true for ``!=``), as on NaN."""
    sentinel = _INT16 - 1 if sym in ("<", "<=") else -_INT16

    def make():
        units, _scale, _lo, _hi, unk, _bad = columns.decimal(name)
        out = units.astype(np.int16)  # whole numbers in range: exact
        if unk is not None:
            out[unk] = sentinel
        return out

    return columns._cached(("fast-int16", name, sentinel), make)


def _nan_or_zero(columns: Columns, facts: frozenset, dtype):
    """NaN where any of ``facts`` is missing, 0 elsewhere: adding it makes a value unknown exactly there."""

    def make():
        missing = _missing8(columns, facts)
        with np.errstate(invalid="ignore"):
            return np.divide(0.0, 1 - missing, dtype=dtype)  # 0/1 = 0, 0/0 = NaN

    return columns._cached(("fast-nan", facts, np.dtype(dtype).str), make)


# ---- static values ----------------------------------------------------------------------------------------------
#
# ``nan``: facts whose absence may leave the value unknown (empty: always known); ``strict``: facts whose absence
# always leaves it unknown. ``implies`` (judgements): facts known wherever the value is true.


@dataclass(frozen=True)
class _Num:
    run: Callable  # env -> units (float array, NaN where unknown) or a Python int (constant)
    scale: int
    lo: int
    hi: int
    nan: frozenset
    strict: frozenset
    const: int | None = None
    # Unknown rows hold any number instead of NaN (then nan == strict: they are the rows missing one of those
    # facts). Comparisons take such a value as it is, with the facts' missing mask; anything else NaN-ifies it first.
    lazy: bool = False


@dataclass(frozen=True)
class _Bool:
    run: Callable  # env -> (k, nm): int8 codes or a Python int; rows unknown without a missing fact, or None
    nan: frozenset
    strict: frozenset
    implies: frozenset
    can_nm: bool = False
    const: int | None = None


@dataclass(frozen=True)
class _Text:
    run: Callable  # env -> int32 codes (−1 missing) or a Python int (constant)
    nan: frozenset
    const: int | None = None


_NONE = frozenset()


_POOL = threading.local()


class _Env:
    """One chunk of one evaluation: the rows ``start:stop`` of ``columns``, the memo of shared subtrees, and the
    float temporaries it took from this thread's pool.

    The pool is for speed only: a float array of a chunk is 200–400 KB, above the size from which the C allocator
    maps fresh pages for every array (and the kernel zeroes them), which cost as much as the arithmetic. No pooled
    array outlives :meth:`Program.run`: the results are copied into the evaluation's own arrays.
    """

    __slots__ = ("columns", "start", "stop", "n", "memo", "taken", "free")

    def __init__(self, columns: Columns, start: int, stop: int):
        self.columns = columns
        self.start, self.stop, self.n = start, stop, stop - start
        self.memo: dict = {}
        self.taken: list = []
        pools = getattr(_POOL, "free", None)
        if pools is None:
            pools = _POOL.free = {}
        self.free = pools.get(self.n)
        if self.free is None:
            if len(pools) >= 4:  # chunk sizes seen last on this thread; the others are let go
                pools.clear()
            self.free = pools[self.n] = {}

    def buf(self, dtype) -> np.ndarray:
        """An uninitialised array of ``n`` rows."""
        dtype = np.dtype(dtype)
        free = self.free.get(dtype)
        arr = free.pop() if free else np.empty(self.n, dtype=dtype)
        self.taken.append(arr)
        return arr

    def release(self) -> None:
        for arr in self.taken:
            self.free.setdefault(arr.dtype, []).append(arr)
        self.taken = []


def _code(yes, missing, true_on_unknown: bool):
    """int8 codes from a fresh boolean result (false on unknown rows, or true there when ``true_on_unknown``)."""
    k = yes.view(np.int8)
    np.add(k, k, out=k)
    if missing is not None:
        (np.subtract if true_on_unknown else np.add)(k, missing, out=k)
    return k


def _missing_reader(columns: Columns, facts: frozenset):
    """``f(env, arrays)``: the chunk's rows where one of ``facts`` is missing (int8 0/1), or None."""
    missing = _missing8(columns, facts) if facts else None
    if missing is None:
        return lambda env, arrays=None: None
    return lambda env, arrays=None: missing[env.start : env.stop]


def _unknown(columns: Columns, values):
    """How to find the unknown rows (int8 0/1, or None) of a comparison of ``values``: ``f(env, units)``."""
    if all(not v.nan for v in values):
        return lambda env, arrays: None
    if all(v.nan == v.strict for v in values):  # unknown exactly where one of their facts is missing
        return _missing_reader(columns, frozenset().union(*(v.nan for v in values)))
    which = [i for i, v in enumerate(values) if v.nan]

    def isnan(env, arrays):
        out = np.isnan(arrays[which[0]])
        for i in which[1:]:
            np.bitwise_or(out, np.isnan(arrays[i]), out=out)
        return out.view(np.int8)

    return isnan


def _ufunc(env, f, x, y, lo: int, hi: int):
    """As :func:`vector._ufunc`: ``f(x, y)`` on whole-number units bounded by lo..hi, exactly (into a buffer)."""
    if isinstance(x, int) and isinstance(y, int):
        return int(f(x, y))
    x, y = _operand(x), _operand(y)
    dtype = _wide(lo, hi) or np.result_type(x, y)
    return f(x, y, out=env.buf(dtype), dtype=dtype)


def _divide_by(d: int, x_max: int):
    """``q ↦ q / d`` for whole 0 ≤ q ≤ x_max, as a multiplication where that is exact enough for ``floor``.

    A division costs several multiplications. With r = fl(1/d) ≥ 1/d, the product fl(q·r) is ≥ q/d (rounding is
    monotone and an integer q/d is representable), and exceeds it by at most (q/d)·2⁻⁵¹·⁹, which stays below the
    distance 1/d to the next integer while q < 2⁵¹: so ⌊fl(q·r)⌋ = ⌊q/d⌋. Otherwise the true division.
    """
    r = 1.0 / d
    if Fraction(r) >= Fraction(1, d) and x_max < 2**51:
        return lambda q: np.multiply(q, r, out=q)
    return lambda q: np.divide(q, d, out=q)


def _const_num(units: int, scale: int) -> _Num:
    return _Num(lambda env: units, scale, units, units, _NONE, _NONE, const=units)


# ---- the builder ---------------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, columns: Columns, params: dict, period_year: int, roots: list[Node]):
        self.columns = columns
        self.params = params
        self.period_year = period_year
        self.keys: dict = {}
        self.built: dict = {}
        self.slots: dict = {}
        self.fresh: dict[str, int] = {}
        counts = Counter(node_key(n, self.keys) for root in roots for n in root.walk())
        self.shared = {key for key, count in counts.items() if count > 1}

    def code(self, s: str) -> int:
        """A text's code: the columns' own, or one no column holds (the same within this program)."""
        code = self.columns.codes.get(s)
        if code is None:
            code = self.fresh.setdefault(s, len(self.columns.codes) + len(self.fresh))
        return code

    def value(self, node: Node):
        key = node_key(node, self.keys)
        found = self.built.get(key)
        if found is not None:
            return found
        if node.type is T.NUMBER:
            v = self.number(node)
        elif node.type is T.BOOL:
            v = self.judgement(node)
        elif node.type is T.TEXT:
            v = self.text(node)
        else:
            raise NotFast(node.op)
        if key in self.shared and v.const is None and node.op != "fact":
            slot, raw = len(self.slots), v.run
            self.slots[key] = slot

            def memo(env, slot=slot, raw=raw):
                found = env.memo.get(slot)
                if found is None:
                    found = env.memo[slot] = raw(env)
                return found

            v = type(v)(**{**v.__dict__, "run": memo})
        self.built[key] = v
        return v

    def num(self, node: Node) -> _Num:
        """A number with NaN on every unknown row (see ``_Num.lazy``)."""
        return self.exact(self.value(node))

    def exact(self, v: _Num) -> _Num:
        if not v.lazy:
            return v
        addends = {np.dtype(t): _nan_or_zero(self.columns, v.nan, t) for t in (np.float32, np.float64)}
        run = v.run

        def nanified(env):
            u = run(env)
            return np.add(u, addends[u.dtype][env.start : env.stop], out=env.buf(u.dtype))

        return _Num(nanified, v.scale, v.lo, v.hi, v.nan, v.strict)

    # numbers ---------------------------------------------------------------------------------------------------

    def number(self, node: Node) -> _Num:
        op = node.op
        if op == "const" or op == "param":
            value = node.value if op == "const" else self.params[node.value]
            lane = _lane_scalar(value)
            if lane is None:
                raise NotFast("not a decimal")
            return _const_num(lane[0], lane[1])
        if op == "builtin":
            return _const_num(self.period_year, 0)
        if op == "fact":
            name = node.value
            units, scale, lo, hi, unk, bad = self.columns.decimal(name)
            if bad is not None:
                raise NotFast("values the lane cannot spell")
            facts = frozenset((name,)) if unk is not None else _NONE
            column = _units(self.columns, name)  # (an array: a program holds no reference to its columns)
            return _Num(lambda env: column[env.start : env.stop], scale, lo, hi, facts, facts)
        if op in ("add", "sub"):
            a, b = (self.num(x) for x in node.args)
            (x, xlo, xhi), (y, ylo, yhi), scale = self.pair(a, b)
            plus = op == "add"
            lo, hi = (xlo + ylo, xhi + yhi) if plus else (xlo - yhi, xhi - ylo)
            if not _fits(lo, hi):
                raise NotFast("bounds")
            f = np.add if plus else np.subtract
            return self.binary(f, x, y, a, b, scale, lo, hi)
        if op == "mul":
            a, b = (self.num(x) for x in node.args)
            corners = (a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi)
            lo, hi = min(corners), max(corners)
            if not _fits(lo, hi) or a.scale + b.scale > 36:
                raise NotFast("bounds")
            return self.binary(np.multiply, a.run, b.run, a, b, a.scale + b.scale, lo, hi)
        if op == "neg":
            a = self.num(node.args[0])
            if a.const is not None:
                return _const_num(-a.const, a.scale)
            run = a.run

            def negative(env):
                u = run(env)
                return np.negative(u, out=env.buf(u.dtype))

            return _Num(negative, a.scale, -a.hi, -a.lo, a.nan, a.strict)
        if op == "abs":
            a = self.num(node.args[0])
            lo = 0 if a.lo <= 0 <= a.hi else min(abs(a.lo), abs(a.hi))
            if a.const is not None:
                return _const_num(abs(a.const), a.scale)
            run = a.run

            def absolute(env):
                u = run(env)
                return np.abs(u, out=env.buf(u.dtype))

            return _Num(absolute, a.scale, lo, max(-a.lo, a.hi), a.nan, a.strict)
        if op == "fen":
            return self.fen(self.num(node.args[0]))
        if op in ("min", "max"):
            out = self.num(node.args[0])
            for arg in node.args[1:]:
                out = self.extreme(out, self.num(arg), op == "min")
            return out
        if op == "if":
            return self.choice(node)
        raise NotFast(op)  # div outside a comparison, coalesce

    def scaled(self, v: _Num, scale: int):
        """(run, lo, hi) of ``v`` at a scale ≥ its own (as :func:`vector._lane_to`)."""
        if v.scale == scale:
            return v.run, v.lo, v.hi
        f = 10 ** (scale - v.scale)
        lo, hi = v.lo * f, v.hi * f
        if max(-lo, hi) >= _LANE_LIMIT:
            raise NotFast("bounds")
        if v.const is not None:
            units = v.const * f
            return (lambda env: units), lo, hi
        run = v.run
        return (lambda env: _ufunc(env, np.multiply, run(env), f, lo, hi)), lo, hi

    def pair(self, a: _Num, b: _Num):
        scale = max(a.scale, b.scale)
        return self.scaled(a, scale), self.scaled(b, scale), scale

    def binary(self, f, x, y, a: _Num, b: _Num, scale: int, lo: int, hi: int) -> _Num:
        nan, strict = a.nan | b.nan, a.strict | b.strict
        if a.const is not None and b.const is not None:
            return _const_num(_ufunc(None, f, x(None), y(None), lo, hi), scale)
        return _Num(lambda env: _ufunc(env, f, x(env), y(env), lo, hi), scale, lo, hi, nan, strict)

    def extreme(self, a: _Num, b: _Num, take_min: bool) -> _Num:
        (x, xlo, xhi), (y, ylo, yhi), scale = self.pair(a, b)
        lo, hi = (min(xlo, ylo), min(xhi, yhi)) if take_min else (max(xlo, ylo), max(xhi, yhi))
        f = np.minimum if take_min else np.maximum  # both propagate NaN: unknown if either is
        wlo, whi = min(xlo, ylo), max(xhi, yhi)
        if a.const is not None and b.const is not None:
            return _const_num(_ufunc(None, f, x(None), y(None), wlo, whi), scale)
        return _Num(
            lambda env: _ufunc(env, f, x(env), y(env), wlo, whi), scale, lo, hi, a.nan | b.nan, a.strict | b.strict
        )

    def fen(self, v: _Num) -> _Num:
        """fen(v), half away from zero, at scale 2 (as :func:`vector._lane_fen`)."""
        if v.scale <= 2:
            run, lo, hi = self.scaled(v, 2)
            if v.const is not None:
                return _const_num(run(None), 2)
            return _Num(run, 2, lo, hi, v.nan, v.strict)
        d = 10 ** (v.scale - 2)
        if 2 * max(-v.lo, v.hi) + 3 * d >= _LANE_LIMIT:
            raise NotFast("bounds")

        def whole(u: int) -> int:
            q = (2 * abs(u) + d) // (2 * d)
            return q if u >= 0 else -q

        if v.const is not None:
            return _const_num(whole(v.const), 2)
        run, nonneg = v.run, v.lo >= 0
        divide = _divide_by(d, v.hi + d // 2)

        def rounded(env):
            u = run(env)
            q = env.buf(np.float64)
            if nonneg:  # exact in float64, see vector._lane_fen
                np.add(u, d // 2, out=q, dtype=np.float64)
                divide(q)
                return np.floor(q, out=q)
            np.abs(u, out=q, dtype=np.float64)
            q *= 2
            q += d
            q /= 2 * d
            np.floor(q, out=q)
            return np.copysign(q, u, out=q)

        return _Num(rounded, 2, whole(v.lo), whole(v.hi), v.nan, v.strict)

    def choice(self, node: Node) -> _Num:
        """``x if c else y`` (as the lane's: y + take·(x − y), exact on whole numbers), NaN where c is unknown."""
        c = self.value(node.args[0])
        x, y = self.value(node.args[1]), self.value(node.args[2])
        if c.can_nm:
            raise NotFast("a condition that may be undefined")
        (fx, xlo, xhi), (fy, ylo, yhi), scale = self.pair(x, y)
        dlo, dhi = xlo - yhi, xhi - ylo
        if not _fits(dlo, dhi):
            raise NotFast("bounds")
        wide = _wide(min(dlo, xlo, ylo), max(dhi, xhi, yhi))
        dtype = np.float32 if wide is None else np.float64
        lo, hi = min(xlo, ylo), max(xhi, yhi)
        if c.const is not None:
            raise NotFast("a constant condition")  # rare; the lane keeps both sides' bounds, the general path too
        # Where c is known, every fact in c.strict is known; if x and y are unknown only where one of those is
        # missing, they are known wherever c is, and the blend is exact there (elsewhere it is overwritten).
        blend = (x.nan | y.nan) <= c.strict
        if not blend:
            x, y = self.exact(x), self.exact(y)
            (fx, xlo, xhi), (fy, ylo, yhi), scale = self.pair(x, y)
        fc, may_be_unknown = c.run, bool(c.nan)
        # Where c is unknown exactly on the rows missing one of its facts, the result is left lazy (see _Num).
        lazy = blend and bool(c.nan) and c.nan == c.strict
        xc, yc = x.const, y.const

        def choose(env):
            k, _nm = fc(env)
            take = k == K_TRUE
            xu, yu = fx(env), fy(env)
            if blend:  # (numpy mixes a boolean and a float array slowly: the 0/1 are made floats first)
                if xc is not None and yc is not None:
                    units = env.buf(dtype)
                    np.copyto(units, take)
                    np.multiply(units, dtype(xu - yu), out=units)
                else:
                    units = _ufunc(env, np.subtract, xu, yu, min(dlo, xlo, ylo), max(dhi, xhi, yhi))
                    t = env.buf(units.dtype)
                    np.copyto(t, take)
                    np.multiply(units, t, out=units)
                if not (isinstance(yu, int) and yu == 0):
                    np.add(units, _operand(yu), out=units)
            else:  # bit selection: exact whatever the unselected side holds (NaN included)
                itype = np.int32 if dtype is np.float32 else np.int64
                xa = np.broadcast_to(np.asarray(xu, dtype=dtype), (env.n,)).view(itype)
                ya = np.broadcast_to(np.asarray(yu, dtype=dtype), (env.n,)).view(itype)
                mask = np.negative(take, dtype=itype)
                units = np.bitwise_xor(xa, ya, out=env.buf(itype))
                np.bitwise_and(units, mask, out=units)
                np.bitwise_xor(units, ya, out=units)
                units = units.view(dtype)
            if not lazy and may_be_unknown:
                unknown = k == K_UNK
                if unknown.any():
                    np.copyto(units, np.nan, where=unknown)
            return units

        return _Num(choose, scale, lo, hi, c.nan | x.nan | y.nan, c.strict, lazy=lazy)

    # judgements ------------------------------------------------------------------------------------------------

    def judgement(self, node: Node) -> _Bool:
        op = node.op
        if op == "const" or op == "param":
            value = node.value if op == "const" else self.params[node.value]
            code = int(K_TRUE if value else K_FALSE)
            return _Bool(lambda env: (code, None), _NONE, _NONE, _NONE, const=code)
        if op == "fact":
            name = node.value
            facts = frozenset((name,)) if _missing8(self.columns, frozenset((name,))) is not None else _NONE
            codes = self.columns.tri(name)[0]
            return _Bool(lambda env: (codes[env.start : env.stop], None), facts, facts, facts)
        if op == "not":
            a = self.value(node.args[0])
            if a.const is not None:
                code = int(K_TRUE) - a.const
                return _Bool(lambda env: (code, None), _NONE, _NONE, _NONE, const=code)
            run = a.run

            def negation(env):
                k, nm = run(env)
                return np.subtract(K_TRUE, k, dtype=np.int8), nm

            return _Bool(negation, a.nan, a.strict, a.strict, a.can_nm)
        if op in ("and", "or"):
            return self.logic(node)
        if op == "cmp":
            if node.args[0].type is T.NUMBER:
                return self.compare(node)
            if node.args[0].type is T.TEXT:
                return self.text_compare(node)
            raise NotFast("a comparison of judgements")
        if op == "in":
            return self.member(node)
        raise NotFast(op)  # a choice between judgements, coalesce

    def logic(self, node: Node) -> _Bool:
        is_and = node.op == "and"
        settled, neutral = (int(K_FALSE), int(K_TRUE)) if is_and else (int(K_TRUE), int(K_FALSE))
        parts = [self.value(a) for a in node.args]
        if any(p.const == settled for p in parts):
            return _Bool(lambda env: (settled, None), _NONE, _NONE, _NONE, const=settled)
        parts = [p for p in parts if p.const != neutral]
        if not parts:
            return _Bool(lambda env: (neutral, None), _NONE, _NONE, _NONE, const=neutral)
        nan = frozenset().union(*(p.nan for p in parts))
        if is_and:
            implies = frozenset().union(*(p.implies for p in parts))
        else:
            implies = frozenset.intersection(*(p.implies for p in parts))
        if len(parts) == 1:
            p = parts[0]
            return _Bool(p.run, p.nan, p.strict, p.implies, p.can_nm)
        pick = np.minimum if is_and else np.maximum
        runs = [p.run for p in parts]

        def combine(env):
            values = [run(env) for run in runs]
            k = pick(values[0][0], values[1][0])
            for vk, _nm in values[2:]:
                pick(k, vk, out=k)
            if all(nm is None for _k, nm in values):
                return k, None
            # Unknown without a missing fact: unknown, and no argument unknown because of a missing fact.
            missing = None
            for vk, nm in values:
                m = vk == K_UNK
                if nm is not None:
                    np.greater(m, nm, out=m)  # unknown and not undefined
                missing = m if missing is None else np.bitwise_or(missing, m, out=missing)
            nm = k == K_UNK
            np.greater(nm, missing, out=nm)
            return k, (nm if nm.any() else None)

        return _Bool(combine, nan, _NONE, implies, any(p.can_nm for p in parts))

    def compare(self, node: Node) -> _Bool:
        left, right = node.args
        sym = node.value
        if right.op == "div" and left.op != "div":
            left, right, sym = right, left, _FLIP[sym]
        if left.op == "div":
            return self.quotient(left, right, sym)
        ufunc = _CMP_UFUNC[sym]
        a, b = self._operands(self.value(left), self.value(right))
        lazy = a.lazy or b.lazy
        (fx, xlo, xhi), (fy, ylo, yhi), _scale = self.pair(a, b)
        nan, strict = a.nan | b.nan, a.strict | b.strict
        same = _decided(sym, xlo, xhi, ylo, yhi)
        if same is not None:  # the bounds decide every known row
            code = int(K_TRUE if same else K_FALSE)
            if not nan:
                return _Bool(lambda env: (code, None), _NONE, _NONE, _NONE, const=code)

            find_unknown = _unknown(self.columns, (a, b))

            def decided(env):
                unknown = find_unknown(env, (fx(env), fy(env)))
                if unknown is None:
                    return np.full(env.n, code, dtype=np.int8), None
                return (np.subtract(K_TRUE, unknown, dtype=np.int8) if same else unknown), None

            return _Bool(decided, nan, strict, strict)
        if a.const is not None and b.const is not None:
            raise NotFast("two constants")  # decided above whenever both are constants
        on_unknown = sym == "!="  # NaN != y is true; every other comparison is false on NaN
        if a.const is not None:  # the fact (or expression) on the left: the common shape, fact ⋚ constant
            (fx, xlo, xhi), (fy, ylo, yhi), a, b, left, right = (fy, ylo, yhi), (fx, xlo, xhi), b, a, right, left
            sym = _FLIP[sym]
            ufunc = _CMP_UFUNC[sym]
        if left.op == "fact" and b.const is not None and a.scale == _scale:
            # the shortest road (most comparisons in rules): the column's own rows against one number
            column, const = _units(self.columns, left.value), _operand(fy(None))
            if column.dtype == np.float64:  # half the bytes to read, where float32 decides every row exactly
                column, const = _keys32(self.columns, left.value, fy(None), column, const)
            elif -_INT16 < a.lo and a.hi < _INT16 - 1 and -_INT16 < fy(None) < _INT16 - 1:
                # small whole numbers (head counts, scores, ratios in 10⁻⁴): int16, a quarter of float64's bytes,
                # with a value on missing rows that makes this comparison false there, as NaN would
                column, const = _ints16(self.columns, left.value, sym), fy(None)
            missing = _missing8(self.columns, a.nan) if a.nan else None
            fix = np.subtract if on_unknown else np.add

            def fact_compare(env):
                k = ufunc(column[env.start : env.stop], const).view(np.int8)
                np.add(k, k, out=k)
                if missing is not None:
                    fix(k, missing[env.start : env.stop], out=k)
                return k, None

            return _Bool(fact_compare, nan, strict, strict)
        find_unknown = _unknown(self.columns, (a, b))

        def compare(env):
            x, y = fx(env), fy(env)
            yes = ufunc(_operand(x), _operand(y))
            unknown = find_unknown(env, (x, y))
            if lazy:  # unknown rows hold any number: their truth is cleared, and they get code 1 alone
                np.greater(yes, unknown.view(bool), out=yes)
                return _code(yes, unknown, False), None
            return _code(yes, unknown, on_unknown), None

        return _Bool(compare, nan, strict, strict)

    def _operands(self, *values: _Num):
        """A comparison's operands: lazy ones stay lazy where every operand's unknown rows are its facts' missing
        rows (the comparison then reads those facts' mask), else all are NaN-ified."""
        if any(v.lazy for v in values) and not all(v.nan == v.strict for v in values):
            return tuple(self.exact(v) for v in values)
        return values

    def quotient(self, division: Node, right: Node, sym: str) -> _Bool:
        """``a / b ⋚ c`` cross-multiplied, as the lane's; b = 0 (known) is unknown without a missing fact."""
        a, b, c = self._operands(self.value(division.args[0]), self.value(division.args[1]), self.value(right))
        lazy = a.lazy or b.lazy or c.lazy
        if b.lo < 0:
            raise NotFast("a divisor that may be negative")
        if a.const is not None and b.const is not None and c.const is not None:
            raise NotFast("three constants")
        ufunc = _CMP_UFUNC[sym]
        shift = b.scale + c.scale - a.scale
        fl, fr = 10 ** max(shift, 0), 10 ** max(-shift, 0)
        lbound = max(-a.lo, a.hi) * fl
        rbound = max(-c.lo, c.hi) * max(-b.lo, b.hi) * fr
        cbound = max(-c.lo, c.hi) * fr
        if lbound >= _LANE_LIMIT or rbound >= _LANE_LIMIT:
            raise NotFast("bounds")
        fa, fb, fc = a.run, b.run, c.run
        may_be_zero = b.lo == 0
        if may_be_zero and division.args[1].op == "fact":  # a column divisor: whether any row holds 0, once
            name = division.args[1].value
            column = _units(self.columns, name)
            may_be_zero = self.columns._cached(("fast-has-zero", name), lambda: bool(np.any(column == 0)))
        nan, strict = a.nan | b.nan | c.nan, a.strict | b.strict | c.strict
        on_unknown = sym == "!="
        find_unknown = _unknown(self.columns, (a, b, c))

        def quotient(env):
            au, bu, cu = fa(env), fb(env), fc(env)
            lhs = _ufunc(env, np.multiply, au, fl, -lbound, lbound) if fl != 1 else au
            cs = _ufunc(env, np.multiply, cu, fr, -cbound, cbound) if fr != 1 else cu
            if isinstance(cs, np.ndarray) and isinstance(bu, np.ndarray) and cs.dtype != bu.dtype:
                wider = env.buf(np.float64)  # numpy multiplies mixed float widths slowly
                np.copyto(wider, cs if cs.dtype != np.float64 else bu)
                cs, bu = (wider, bu) if cs.dtype != np.float64 else (cs, wider)
            rhs = _ufunc(env, np.multiply, cs, bu, -rbound, rbound)
            yes = ufunc(_operand(lhs), _operand(rhs))
            if np.ndim(yes) == 0:
                yes = np.full(env.n, bool(yes))
            unknown = find_unknown(env, (au, bu, cu))
            zero = None
            if may_be_zero:
                zero = np.equal(bu, 0) if not isinstance(bu, int) else np.full(env.n, bu == 0)
                if not zero.any():
                    zero = None
            if lazy:  # unknown rows hold any number: their truth is cleared, and they get code 1 alone
                np.greater(yes, unknown.view(bool), out=yes)
            if zero is None:
                return _code(yes, unknown, on_unknown and not lazy), None
            # x / 0: unknown (code 1) whatever the comparison says, and undefined unless a fact is missing too
            if on_unknown and unknown is not None and not lazy:
                np.greater(yes, unknown.view(bool), out=yes)  # true-on-NaN rows are set below
            np.greater(yes, zero, out=yes)
            k = _code(yes, None, False)
            undefined = zero if unknown is None else np.greater(zero, unknown.view(bool))
            np.add(k, zero.view(np.int8), out=k)
            if unknown is not None:
                np.maximum(k, unknown, out=k)  # unknown rows: 1 (yes was cleared there, or false on NaN)
            return k, (undefined if undefined.any() else None)

        return _Bool(quotient, nan, strict, strict, may_be_zero)

    # texts -----------------------------------------------------------------------------------------------------

    def text(self, node: Node) -> _Text:
        op = node.op
        if op == "const" or op == "param":
            value = node.value if op == "const" else self.params[node.value]
            code = self.code(value)
            return _Text(lambda env: code, _NONE, const=code)
        if op == "fact":
            name = node.value
            facts = frozenset((name,)) if _missing8(self.columns, frozenset((name,))) is not None else _NONE
            codes = self.columns.text(name)[0]
            return _Text(lambda env: codes[env.start : env.stop], facts)
        raise NotFast(op)  # a choice between texts, coalesce

    def text_compare(self, node: Node) -> _Bool:
        a, b = (self.value(x) for x in node.args)
        equal = node.value == "=="
        if a.const is not None and b.const is not None:
            code = int(K_TRUE if (a.const == b.const) == equal else K_FALSE)
            return _Bool(lambda env: (code, None), _NONE, _NONE, _NONE, const=code)
        if a.const is None and b.const is None:
            raise NotFast("two text columns")  # both missing would compare equal on −1
        column, const = (a, b.const) if b.const is not None else (b, a.const)
        run, facts, ufunc = column.run, column.nan, (np.equal if equal else np.not_equal)
        missing = _missing_reader(self.columns, facts)

        def compare(env):
            return _code(ufunc(run(env), const), missing(env), not equal), None

        return _Bool(compare, facts, facts, facts)

    def member(self, node: Node) -> _Bool:
        target, items_node = node.args
        if target.type is not T.TEXT:
            raise NotFast("a list of numbers")
        a = self.value(target)
        items = items_node.value if items_node.op == "const" else self.params[items_node.value]
        codes = [self.code(s) for s in items]
        negate = bool(node.value)
        if a.const is not None:
            code = int(K_TRUE if (a.const in codes) != negate else K_FALSE)
            return _Bool(lambda env: (code, None), _NONE, _NONE, _NONE, const=code)
        run, facts = a.run, a.nan
        lookup = np.asarray(codes, dtype=np.int64)
        missing = _missing_reader(self.columns, facts)

        def member(env):
            values = run(env)
            if not codes:
                val = np.zeros(env.n, dtype=bool)
            elif len(codes) <= 8:
                val = values == codes[0]
                for code in codes[1:]:
                    np.bitwise_or(val, values == code, out=val)
            else:
                val = np.isin(values, lookup)
            if negate:
                np.logical_not(val, out=val)
            return _code(val, missing(env), negate), None

        return _Bool(member, facts, facts, facts)

    # amounts -----------------------------------------------------------------------------------------------------

    def final(self, amount: _Num, cap: _Num | None):
        """max(0, min(amount, cap)) in fen as float units (as :meth:`CompiledClause._final_lane`): (run, nan)."""
        v = amount if cap is None else self.extreme(amount, cap, True)
        if v.const is not None:
            fen = self.fen(_const_num(max(v.const, 0), v.scale)).const

            def constant(env):
                out = env.buf(np.float64)
                out.fill(fen)
                return out

            return constant, _NONE
        run, lo, hi = v.run, v.lo, v.hi
        if lo < 0:  # max(0, ·); NaN stays NaN
            inner = v.run

            def run(env):
                u = inner(env)
                return np.maximum(u, 0, out=env.buf(u.dtype))

            lo, hi = 0, max(hi, 0)
        if v.scale <= 2:
            return self.fen(_Num(run, v.scale, lo, hi, v.nan, v.strict)).run, v.nan
        d = 10 ** (v.scale - 2)
        if 2 * hi + 3 * d >= _LANE_LIMIT:
            raise NotFast("bounds")

        divide = _divide_by(d, hi + d // 2)

        def rounded(env):  # ⌊u/d + ½⌋ for u ≥ 0, exact (see CompiledClause._final_lane); int64 truncates
            q = env.buf(np.float64)
            np.add(run(env), d // 2, out=q, dtype=np.float64)
            divide(q)
            return q

        return rounded, v.nan


# ---- programs ------------------------------------------------------------------------------------------------------


class Program:
    """Stage 1 of one clause version on one set of columns, parameters and period: status, amounts, outputs."""

    def __init__(self, condition: _Bool, formulas: list):
        self.condition = condition
        # [(output name, or None for the amount; run; whether an eligible row may lack it)], amount first
        self.formulas = formulas

    def run(self, columns: Columns, start: int, stop: int, out) -> None:
        """Rows ``start:stop`` into ``out`` = (status int8, amount int64 or None, {output: int64}) (all rows)."""
        env = _Env(columns, start, stop)
        try:
            self._run(env, out)
        finally:
            env.release()

    def _run(self, env: _Env, out) -> None:
        start, stop = env.start, env.stop
        out_status, out_amount, out_outputs = out
        k, nm = self.condition.run(env)
        if isinstance(k, int):
            k = np.full(env.n, k, dtype=np.int8)
        # status: 0 → NOT_ELIGIBLE (0), 2 → ELIGIBLE (1), 1 → MISSING (2); min(2k, 5 − 2k) maps exactly so
        status = out_status[start:stop]
        np.add(k, k, out=status)
        np.minimum(status, np.subtract(5, status, dtype=np.int8), out=status)
        if nm is not None:
            np.add(status, nm.view(np.int8), out=status)  # MISSING → UNDEFINED where no fact is missing
        if not self.formulas:
            return
        true = None
        finals = [(name, run(env), demote) for name, run, demote in self.formulas]
        for _name, units, demote in finals:
            if demote:  # eligible, but the amount is unknown: a fact it reads is missing (MISSING)
                if true is None:
                    true = k == K_TRUE
                unknown = np.isnan(units)
                np.bitwise_and(unknown, true, out=unknown)
                np.add(status, unknown.view(np.int8), out=status)
        keep = (status == 1).view(np.int8)
        for name, units, _demote in finals:
            fen = (out_amount if name is None else out_outputs[name])[start:stop]
            np.copyto(fen, units, casting="unsafe")  # NaN rows give garbage, zeroed with every row not eligible
            np.multiply(fen, keep, out=fen)


def build(compiled, columns: Columns, params: dict, period_year: int) -> Program | None:
    """The program of ``compiled`` (a CompiledClause) on these columns, or None where the general path is needed."""
    version = compiled.version
    roots = [version.condition.root] + [f.root for f in (version.amount, version.cap) if f is not None]
    roots += [o.expression.root for o in version.outputs]
    builder = _Builder(columns, params, period_year, roots)
    try:
        condition = builder.value(version.condition.root)
        formulas = []
        if version.amount is not None:
            cap = builder.num(version.cap.root) if version.cap is not None else None
            run, nan = builder.final(builder.num(version.amount.root), cap)
            formulas.append((None, run, not nan <= condition.implies))
        for o in version.outputs:
            run, nan = builder.final(builder.num(o.expression.root), None)
            formulas.append((o.name, run, not nan <= condition.implies))
    except NotFast:
        return None
    return Program(condition, formulas)


def program_for(compiled, columns: Columns, params: dict, applied_on, period_year: int) -> Program | None:
    """The program of ``compiled`` (a CompiledClause) on these columns with the parameter values in force on
    ``applied_on`` (``params``), built once per columns, date and period; None where the general path is needed.

    Programs are kept beside the clause, per columns object, as long as both live (a weak reference to the columns;
    a program holds arrays derived from them, never the columns themselves).
    """
    if not ENABLED:
        return None
    programs = compiled.__dict__.get("_fast_programs")
    if programs is None:
        programs = compiled.__dict__.setdefault("_fast_programs", weakref.WeakKeyDictionary())
    per_columns = programs.get(columns)
    if per_columns is None:
        per_columns = programs.setdefault(columns, {})
    key = (applied_on, period_year)
    if key not in per_columns:
        per_columns[key] = build(compiled, columns, params, period_year)
    return per_columns[key]


def prepare(compiled: list, columns: Columns, *, period, applied_on) -> int:
    """Builds (or finds) the programs of ``compiled`` on ``columns``; how many of the clauses have one."""
    return sum(c._plan(columns, period, applied_on).program is not None for c in compiled)
