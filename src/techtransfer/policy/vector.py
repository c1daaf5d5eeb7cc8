"""The batch path: every clause compiled once into numpy operations over columns of facts.

Results are identical to the row-wise path (:mod:`techtransfer.policy.rowwise`), which computes with exact
fractions. Floating point alone cannot promise that (0.1 is not a binary number, and half a fen must round up),
so the batch path works in two stages:

1. **Float intervals, all rows.** Every value is a pair of float64 bounds ``[lo, hi]`` that is guaranteed to
   contain the exact value: inputs that are not exact binary numbers are widened by one ulp, and every
   arithmetic result is widened outward by one ulp (``nextafter``), which covers round-to-nearest. Comparisons
   decide only when the bounds do (``hi < lo'``); the final rounding to fen decides only when both bounds
   round to the same fen. Rows where any decision was not certain are marked.
2. **Exact rationals, the marked rows only.** The same tree is evaluated again on those rows with Python
   integers in numpy object arrays (numerator and denominator), exactly as the row-wise path does.

Before the intervals, stage 1 tries an **exact lane**: most numbers in rules are decimals (money in fen, rates,
thresholds, years), and as whole numbers scaled by a power of ten they add, multiply, compare and round to the fen
exactly in float64 (float32 where they stay below 2²⁴), with no widening and no undecided rows. Each node uses the
lane when its inputs allow (decimals, results provably below 2⁵³; ``a / b ⋚ c`` is cross-multiplied) and the
intervals otherwise. On generated data no row of the benchmark's clauses reaches stage 2 any more; clauses whose
amounts divide still send their ties there; shipped scenarios, which test boundaries on purpose, reach it often,
and the tests check that every path together equals the row-wise path on every scenario and on random facts.

**Row compaction** skips work the result does not depend on: the costly arguments of an ``and`` (``or``) are
computed only on the rows its cheaper arguments left open (not yet false, resp. true), and amounts only on the
rows whose condition holds; the rows are gathered once and the results scattered back.

**Row chunks and threads**: stage 1 runs on chunks of :data:`CHUNK_ROWS` rows (bounds fixed by the row count
alone), optionally on several threads (``threads=``), and its results are joined in row order before stage 2;
every thread count gives byte-identical results (see :func:`chunk_bounds`).

**Straight-line programs**: where the exact lane computes a whole clause on the given columns, stage 1 runs as a
program built once for those columns (:mod:`techtransfer.policy.fastpath`) instead of the tree walk below, with the
same results byte for byte; everything else takes this module's path.

Missing facts are NaN (numbers, booleans) or code −1 (options); each value carries an *unknown* mask and a
*has-missing* mask so that three-valued logic, "missing" and "无法判定" come out as in the row-wise path.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np

from .display import fen_to_decimal
from .errors import ErrorCollector, RuleError, RuleErrorCode
from .expr import Node, T
from .facts import MAX_MAGNITUDE, FactCatalogue, FactType
from .library import Clause, ClauseVersion, Library
from .results import Period, Status, as_date
from .rowwise import MAX_FEN

INF = np.inf
K_FALSE, K_UNK, K_TRUE = np.int8(0), np.int8(1), np.int8(2)
TWO53 = float(2**53)


# Outward widening. One ulp (``nextafter``) would do, but numpy's nextafter is a scalar C call per element;
# subtracting |x|·2⁻⁵⁰ (four ulps) plus a tiny absolute term is a few vector instructions and still a rigorous
# bound: the float result x of an operation is within half an ulp (|x|·2⁻⁵³) of the exact value, and the two
# roundings of the widening itself cost at most another |x|·2⁻⁵², which the margin covers.
_WIDEN = 2.0**-50
_TINY = 2.0**-1000


def _margin(x):
    if np.ndim(x) == 0:
        return abs(x) * _WIDEN + _TINY
    m = np.abs(x)
    m *= _WIDEN
    m += _TINY
    return m


def _down(x):
    return x - _margin(x)


def _up(x):
    return x + _margin(x)


# For values known to be ≥ 0 (and their exact values too): a scaled product plus a tiny term is also a rigorous
# bound, in two passes instead of four: fl(x·(1 − 2⁻⁵⁰)) ≤ x − x·2⁻⁵⁰ + x·2⁻⁵³ < x − x·2⁻⁵².
_SHRINK = 1.0 - 2.0**-50
_GROW = 1.0 + 2.0**-50


def _down_nn(x):
    y = x * _SHRINK
    y -= _TINY
    return y


def _up_nn(x):
    y = x * _GROW
    y += _TINY
    return y


def _nonneg(*bounds) -> bool:
    """Whether every lower bound is ≥ 0 (NaN rows, unknown anyway, do not count)."""
    return all(not np.any(b < 0) for b in bounds)


# ---- columns ------------------------------------------------------------------------------------------------


class Columns:
    """Facts of ``n`` entities, one column per fact.

    Numbers and booleans are float64 with NaN for missing (a float stands for its shortest decimal spelling,
    ``repr``); options are int32 codes with −1 for missing. ``overrides`` keeps the exact decimal of the few
    values whose shortest spelling is not the value given (more than 15–17 significant digits).
    """

    def __init__(self, catalogue: FactCatalogue, n: int, data: dict[str, np.ndarray], overrides=None):
        self.catalogue = catalogue
        self.n = n
        self.data = data
        self.overrides: dict[str, dict[int, Decimal]] = overrides or {}
        self.codes = text_codes(catalogue)
        self.strings = {code: s for s, code in self.codes.items()}
        self._intervals: dict = {}
        self._locks: dict = {}
        self._slices: dict = {}

    # building
    @classmethod
    def from_records(cls, catalogue: FactCatalogue, records: list[dict]) -> Columns:
        """From input mappings, checked like the row-wise path (the same errors, in Chinese)."""
        n = len(records)
        names = sorted({name for r in records for name in r})
        errors = ErrorCollector()
        for name in names:
            if name not in catalogue:
                errors.add(RuleErrorCode.UNKNOWN_FACT, name, f"未知的事实「{name}」")
        errors.raise_if_any()
        codes = text_codes(catalogue)
        data, overrides = {}, {}
        for name in names:
            fact = catalogue[name]
            if fact.type is FactType.ENUM:
                col = np.full(n, -1, dtype=np.int32)
            else:
                col = np.full(n, np.nan)
            for i, record in enumerate(records):
                if name not in record:
                    continue
                try:
                    value = fact.coerce(record[name])
                except ValueError as exc:
                    errors.add(RuleErrorCode.BAD_VALUE, f"{i}.{name}", f"第 {i + 1} 条：{exc}")
                    continue
                if value is None:
                    continue
                if fact.type is FactType.ENUM:
                    col[i] = codes[value]
                elif fact.type is FactType.BOOL:
                    col[i] = 1.0 if value else 0.0
                else:
                    f = float(value)
                    col[i] = f
                    if not isinstance(value, int) and Decimal(repr(f)) != value:
                        overrides.setdefault(name, {})[i] = value
            data[name] = col
        errors.raise_if_any()
        return cls(catalogue, n, data, overrides)

    @classmethod
    def from_arrays(cls, catalogue: FactCatalogue, arrays: dict, n: int | None = None) -> Columns:
        """From numpy arrays (NaN = missing; options as strings, None/"" = missing), checked column by column."""
        errors = ErrorCollector()
        codes = text_codes(catalogue)
        data = {}
        for name, raw in arrays.items():
            fact = catalogue.facts.get(name)
            if fact is None:
                errors.add(RuleErrorCode.UNKNOWN_FACT, name, f"未知的事实「{name}」")
                continue
            arr = np.asarray(raw)
            if n is None:
                n = len(arr)
            if len(arr) != n:
                errors.add(RuleErrorCode.BAD_VALUE, name, f"{fact.describe()}的行数 {len(arr)} 与其他列（{n}）不一致")
                continue
            if fact.type is FactType.ENUM:
                if arr.dtype.kind in "iu":
                    col = arr.astype(np.int32)
                else:
                    strings = np.where(arr == None, "", arr).astype(str)  # noqa: E711 - elementwise
                    choice_list = list(fact.choices)
                    valid = np.isin(strings, choice_list) | (strings == "")
                    if not valid.all():
                        bad = strings[~valid][0]
                        errors.add(RuleErrorCode.BAD_VALUE, name, f"{fact.describe()}没有取值「{bad}」")
                        continue
                    lookup = {s: codes[s] for s in choice_list}
                    col = np.full(n, -1, dtype=np.int32)
                    for s, code in lookup.items():
                        col[strings == s] = code
                data[name] = col
                continue
            col = arr.astype(np.float64)
            known = ~np.isnan(col)
            values = col[known]
            if not np.isfinite(values).all() or (np.abs(values) > float(MAX_MAGNITUDE)).any():
                errors.add(RuleErrorCode.BAD_VALUE, name, f"{fact.describe()}含有超出范围的数值")
            elif fact.type is FactType.BOOL and not np.isin(values, (0.0, 1.0)).all():
                errors.add(RuleErrorCode.BAD_VALUE, name, f"{fact.describe()}应为是/否（1/0）")
            elif fact.type is FactType.INT and (values != np.floor(values)).any():
                errors.add(RuleErrorCode.BAD_VALUE, name, f"{fact.describe()}应为整数")
            elif fact.type is FactType.MONEY and ((values < 0).any() or (np.round(values, 2) != values).any()):
                errors.add(RuleErrorCode.BAD_VALUE, name, f"{fact.describe()}应为非负金额，最多两位小数")
            elif fact.type is FactType.RATIO and ((values < 0).any() or (values > 1).any()):
                errors.add(RuleErrorCode.BAD_VALUE, name, f"{fact.describe()}应为 0 到 1 之间的比例")
            data[name] = col
        errors.raise_if_any()
        return cls(catalogue, n or 0, data)

    # reading
    def exact(self, name: str, i: int):
        """The exact value of one cell: int, Decimal, bool, str or None (what the row-wise path receives)."""
        fact = self.catalogue[name]
        col = self.data.get(name)
        if col is None:
            return None
        if fact.type is FactType.ENUM:
            code = int(col[i])
            return None if code < 0 else self.strings[code]
        x = float(col[i])
        if x != x:
            return None
        if fact.type is FactType.BOOL:
            return x == 1.0
        override = self.overrides.get(name, {}).get(i)
        if override is not None:
            return override
        if fact.type is FactType.INT:
            return int(x)
        return Decimal(repr(x))

    def row(self, i: int) -> dict:
        return {name: self.exact(name, i) for name in self.data}

    def _cached(self, key, make):
        """A derived column, computed once even when row chunks on several threads ask for it together."""
        value = self._intervals.get(key)
        if value is None:
            with self._locks.setdefault(key, threading.Lock()):
                value = self._intervals.get(key)
                if value is None:
                    value = self._intervals[key] = make()
        return value

    def gather(self, rows: np.ndarray) -> _View:
        return _View(self, rows)

    def chunk(self, start: int, stop: int):
        """Rows ``start:stop`` with the same readers (views of this object's derived columns), kept for reuse."""
        if start == 0 and stop == self.n:
            return self
        view = self._slices.get((start, stop))
        if view is None:
            view = self._slices[(start, stop)] = _View(self, slice(start, stop))
        return view

    def interval(self, name: str):
        """(lo, hi, unknown) for a numeric or boolean column, computed once per column."""
        return self._cached(name, lambda: self._interval(name))

    def _interval(self, name: str):
        col = self.data.get(name)
        if col is None:
            nan = np.full(self.n, np.nan)
            cached = (nan, nan, np.ones(self.n, dtype=bool))
        else:
            unk = np.isnan(col)
            if not unk.any():
                unk = None
            exact = (col == np.floor(col)) & (np.abs(col) <= TWO53)
            for i in self.overrides.get(name, {}):
                exact[i] = False
            if exact.all() or self.catalogue[name].type in (FactType.BOOL, FactType.INT):
                cached = (col, col, unk)
            else:
                lo = np.where(exact, col, _down(col))
                hi = np.where(exact, col, _up(col))
                cached = (lo, hi, unk)
        return cached

    def decimal(self, name: str):
        """A numeric column for the exact lane (see :func:`decimal_lane`), computed once per column."""

        def make():
            col = self.data.get(name)
            if col is None:
                return (np.zeros(self.n), 0, 0, 0, np.ones(self.n, dtype=bool), None)
            return decimal_lane(col, self.overrides.get(name))

        return self._cached(("decimal", name), make)

    def tri(self, name: str):
        """A boolean column as three-valued int8 codes (0 false, 1 missing, 2 true) and its missing mask."""

        def make():
            col = self.data.get(name)
            if col is None:
                return (np.full(self.n, K_UNK), np.ones(self.n, dtype=bool))
            unk = np.isnan(col)
            k = np.where(unk, K_UNK, np.where(col == 1.0, K_TRUE, K_FALSE))
            return (k, unk if unk.any() else None)

        return self._cached(("tri", name), make)

    def text(self, name: str):
        col = self.data.get(name)
        if col is None:
            return np.full(self.n, -1, dtype=np.int32), np.ones(self.n, dtype=bool)
        unk = col < 0
        return col, (unk if unk.any() else None)


def text_codes(catalogue: FactCatalogue) -> dict[str, int]:
    strings = sorted({code for fact in catalogue if fact.type is FactType.ENUM for code in fact.choices})
    return {s: i for i, s in enumerate(strings)}


# ---- stage 1: float intervals -------------------------------------------------------------------------------
#
# Values: numbers (lo, hi, unk, hm); booleans (k, hm) with k the int8 code 0 false / 1 unknown / 2 true (so that
# and = min, or = max, not = 2 − k); options (codes, unk, hm). A mask is None when it is all False: numpy is slow
# with scalar operands (``mask | False`` costs twenty times ``mask | mask``), so absent masks skip the operation.
# Selections use bit operations instead of ``np.where``, whose branches mispredict on random masks.


def _or(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _and(a, b):
    if a is None or b is None:
        return None
    return a & b


# Row compaction. Once the cheap arguments of an ``and`` are false on most rows, its value there is false
# whatever the others are (three-valued ``and`` is min), so the costly arguments are computed only on the rows
# still open, gathered; likewise for ``or`` (true), and amounts are computed only where the condition holds.
# Below these sizes gathering costs more than it saves.
_COMPACT_ROWS = 8192  # rows in the context
_COMPACT_SHARE = 0.7  # at most this share of them still open
_COMPACT_COST = 8  # the cost of the next argument (see _cost)
_COMPACT_AMOUNT_SHARE = 0.7  # amounts: at most this share of rows eligible
# ... and the amount, cap and outputs together cost at least this much: a cheap amount (spend × rate, capped)
# costs fewer passes on every row than gathering the eligible rows (``flatnonzero`` on a random mask is slow) and
# scattering their amounts back.
_COMPACT_AMOUNT_COST = 8


class _View:
    """Some rows of a :class:`Columns` (``index``: an index array or a slice), with the same readers.

    Each derived column is computed on the whole ``Columns`` (once), never on the view, then picked: the exact
    lane's scale and bounds, and whether a column is exact, depend on every row, and a view must take the same
    paths. A slice picks views (no copy); an index array gathers, once per column, on first use.
    """

    def __init__(self, columns: Columns, index):
        self.base = columns
        self.index = index
        self.n = len(index) if isinstance(index, np.ndarray) else index.stop - index.start
        self.codes = columns.codes
        self._cache: dict = {}

    def gather(self, rows: np.ndarray) -> _View:
        index = self.index
        return _View(self.base, index[rows] if isinstance(index, np.ndarray) else rows + index.start)

    def _pick_mask(self, mask):
        if mask is None:
            return None
        picked = mask[self.index]
        return picked if picked.any() else None

    def _cached(self, key, make):
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = make()
        return value

    def interval(self, name: str):
        def make():
            lo, hi, unk = self.base.interval(name)
            picked = lo[self.index]
            return (picked, picked if hi is lo else hi[self.index], self._pick_mask(unk))  # exact stays lo is hi

        return self._cached(("interval", name), make)

    def tri(self, name: str):
        def make():
            k, unk = self.base.tri(name)
            return (k[self.index], self._pick_mask(unk))

        return self._cached(("tri", name), make)

    def text(self, name: str):
        def make():
            codes, unk = self.base.text(name)
            return (codes[self.index], self._pick_mask(unk))

        return self._cached(("text", name), make)

    def decimal(self, name: str):
        def make():
            units, scale, lo, hi, unk, bad = self.base.decimal(name)
            return (units[self.index], scale, lo, hi, self._pick_mask(unk), self._pick_mask(bad))

        return self._cached(("decimal", name), make)


_FRESH_LOCK = threading.Lock()


class _Ctx:
    def __init__(self, columns: Columns, params: dict, period_year: int):
        self.columns = columns
        self.n = columns.n
        self.params = params  # name → exact value
        self.period_year = period_year
        self.unc = None  # rows where a float decision was not certain
        self.memo: dict = {}
        self._fresh: dict[str, int] = {}

    def subset(self, rows: np.ndarray) -> _Ctx:
        """A context over some of these rows (indices into them); :meth:`absorb` takes its undecided rows back."""
        sub = _Ctx(self.columns.gather(rows), self.params, self.period_year)
        sub._fresh = self._fresh  # the same codes for texts that no column holds
        return sub

    def absorb(self, sub: _Ctx, rows: np.ndarray) -> None:
        if sub.unc is not None:
            if self.unc is None:
                self.unc = np.zeros(self.n, dtype=bool)
            self.unc[rows[sub.unc]] = True

    def code(self, s: str) -> int:
        code = self.columns.codes.get(s)
        if code is None:
            code = self._fresh.get(s)
        if code is None:
            with _FRESH_LOCK:  # chunks on other threads share ``_fresh``: one new code per text, never two alike
                code = self._fresh.setdefault(s, len(self.columns.codes) + len(self._fresh))
        return code

    def mark(self, mask) -> None:
        if mask is not None:
            self.unc = mask.copy() if self.unc is None else (self.unc | mask)

    def full(self, x, dtype):
        if np.ndim(x) == 0:
            return np.full(self.n, x, dtype=dtype)
        return x


def _interval_of(value: Fraction):
    f = float(value)
    if Fraction(f) == value:
        x = np.float64(f)
        return x, x
    return _down(np.float64(f)), _up(np.float64(f))


def _num_const(value: Fraction):
    lo, hi = _interval_of(value)
    return (lo, hi, None, None)


_INT_VIEW = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}


def _select(take, x, y, ctx, dtype):
    """``x`` where ``take`` else ``y``, elementwise, exact and branch-free (bit operations on integer views)."""
    if x is y:
        return x
    if dtype is np.float64 and np.ndim(x) == 0 and np.ndim(y) == 0:
        # Two constants: t·x + (1 − t)·y with t ∈ {0, 1} is exact (each product is x, y or 0).
        t = take.astype(np.float64)
        out = t * x
        out += (1.0 - t) * y
        return out
    x, y = ctx.full(x, dtype), ctx.full(y, dtype)
    if dtype is bool:
        return (take & x) | (~take & y)
    itype = _INT_VIEW[np.dtype(dtype).itemsize]
    xi, yi = x.view(itype), y.view(itype)
    mask = -take.view(np.int8) if itype is np.int8 else -take.astype(itype)
    return (yi ^ ((xi ^ yi) & mask)).view(dtype)


def _select_mask(take, x, y):
    if x is None and y is None:
        return None
    if x is None:
        return ~take & y
    if y is None:
        return take & x
    return (take & x) | (~take & y)


def _tri(yes, unk):
    """Three-valued int8 codes from a boolean result and an unknown mask."""
    if unk is None:
        t = yes.view(np.int8)
        return t + t
    t = (yes & ~unk).view(np.int8)
    return t + t + unk.view(np.int8)


def _tri_owned(yes, unk):
    """As :func:`_tri`, computed in place in ``yes`` (a fresh array that nothing else holds): no temporaries."""
    t = yes.view(np.int8)
    if unk is not None:
        np.greater(yes, unk, out=yes)  # yes and not unknown
    np.add(t, t, out=t)
    if unk is not None:
        np.add(t, unk.view(np.int8), out=t)
    return t


def node_key(node: Node, keys: dict | None = None):
    """A structural key: two subtrees that compute the same thing share it (and are computed once)."""
    if keys is not None and id(node) in keys:
        return keys[id(node)]
    value = node.value
    key = (
        node.op,
        str(node.type),
        value if not isinstance(value, list) else tuple(value),
        tuple(node_key(a, keys) for a in node.args),
    )
    if keys is not None:
        keys[id(node)] = key
    return key


def _compile(node: Node, shared: dict | None = None, keys: dict | None = None):
    """A closure computing ``node`` on a context (see the value shapes above).

    Subtrees that occur more than once in a clause (the same share in the amount and in an output) are computed
    once per evaluation: ``shared`` maps their structural key to one memoised closure.
    """
    shared = {} if shared is None else shared
    keys = {} if keys is None else keys
    key = node_key(node, keys)
    found = shared.get(key)
    if found is not None:
        return found
    raw = _compile_node(node, shared, keys)
    if node.op in ("const", "fact", "builtin"):
        shared[key] = raw
        return raw

    def memo(ctx):
        value = ctx.memo.get(key)
        if value is None:
            value = ctx.memo[key] = raw(ctx)
        return value

    shared[key] = memo
    return memo


def _compile_node(node: Node, shared: dict, keys: dict):
    op = node.op
    args = [_compile(a, shared, keys) for a in node.args]

    if op == "const":
        value = node.value
        if node.type is T.NUMBER:
            const = _num_const(value)
            return lambda ctx: const
        if node.type is T.BOOL:
            const = (K_TRUE if value else K_FALSE, None)
            return lambda ctx: const
        if node.type is T.TEXT:
            return lambda ctx: (np.int32(ctx.code(value)), None, None)
        if node.item_type is T.TEXT:
            return lambda ctx: ("list", [ctx.code(v) for v in value])
        items = [_interval_of(v) for v in value]
        return lambda ctx: ("list", items)

    if op == "param":
        name, type_, item_type = node.value, node.type, node.item_type

        def param(ctx):
            value = ctx.params[name]
            if type_ is T.NUMBER:
                return _num_const(value)
            if type_ is T.BOOL:
                return (K_TRUE if value else K_FALSE, None)
            if type_ is T.TEXT:
                return (np.int32(ctx.code(value)), None, None)
            if item_type is T.TEXT:
                return ("list", [ctx.code(v) for v in value])
            return ("list", [_interval_of(v) for v in value])

        return param

    if op == "builtin":
        return lambda ctx: _num_const(Fraction(ctx.period_year))

    if op == "fact":
        name = node.value
        if node.type is T.NUMBER:

            def fact(ctx):
                lo, hi, unk = ctx.columns.interval(name)
                return (lo, hi, unk, unk)

            return fact
        if node.type is T.BOOL:
            return lambda ctx: ctx.columns.tri(name)

        def text_fact(ctx):
            codes, unk = ctx.columns.text(name)
            return (codes, unk, unk)

        return text_fact

    if op in ("add", "sub", "mul", "div"):
        fa, fb = args
        fn = {"add": _add, "sub": _sub, "mul": _mul, "div": _div}[op]
        return lambda ctx: fn(fa(ctx), fb(ctx), ctx)

    if op == "neg":
        (fa,) = args

        def neg(ctx):
            lo, hi, unk, hm = fa(ctx)
            return (-hi, -lo, unk, hm)

        return neg

    if op == "abs":
        (fa,) = args

        def absolute(ctx):
            lo, hi, unk, hm = fa(ctx)
            alo = np.maximum(np.maximum(lo, -hi), 0.0)  # 0 when the interval contains 0
            ahi = np.maximum(np.abs(lo), np.abs(hi))
            return (alo, ahi, unk, hm)

        return absolute

    if op == "fen":
        (fa,) = args

        def fen(ctx):
            lo, hi, unk, hm = fa(ctx)
            glo, ghi = _fen_bounds(lo, hi)
            return (_down(glo / 100.0), _up(ghi / 100.0), unk, hm)

        return fen

    if op in ("min", "max"):
        pick = np.minimum if op == "min" else np.maximum

        def extreme(ctx):
            lo, hi, unk, hm = args[0](ctx)
            for f in args[1:]:
                blo, bhi, bunk, bhm = f(ctx)
                lo, hi, unk, hm = pick(lo, blo), pick(hi, bhi), _or(unk, bunk), _or(hm, bhm)
            return (lo, hi, unk, hm)

        return extreme

    if op == "coalesce":
        if node.type is T.BOOL:

            def coalesce_bool(ctx):
                values = [f(ctx) for f in args]
                k, hm_all = values[-1]
                for vk, vhm in reversed(values[:-1]):
                    k = _select(vk != K_UNK, vk, k, ctx, np.int8)
                    hm_all = _or(hm_all, vhm)
                return (k, _and(hm_all, k == K_UNK))

            return coalesce_bool
        dtype = np.float64 if node.type is T.NUMBER else np.int32

        def coalesce(ctx):
            values = [f(ctx) for f in args]
            out = list(values[-1])
            hm_all = values[-1][-1]
            for v in reversed(values[:-1]):
                if v[-2] is None:  # always known: it wins
                    out = list(v)
                    hm_all = None
                    continue
                known = ~v[-2]
                for i in range(len(out) - 2):
                    out[i] = _select(known, v[i], out[i], ctx, dtype)
                out[-2] = _and(v[-2], out[-2])
                hm_all = _or(hm_all, v[-1])
            out[-1] = _and(out[-2], hm_all)
            return tuple(out)

        return coalesce

    if op in ("and", "or"):
        # min / max are commutative: the cheap arguments first, so that the costly ones see only open rows
        order = sorted(range(len(args)), key=lambda i: _cost(node.args[i]))
        parts = [args[i] for i in order]
        costs = [_cost(node.args[i]) for i in order]
        pick = np.minimum if op == "and" else np.maximum
        settled = K_FALSE if op == "and" else K_TRUE
        return lambda ctx: _logic(ctx, parts, costs, pick, settled)

    if op == "not":
        (fa,) = args

        def negation(ctx):
            k, hm = fa(ctx)
            return (K_TRUE - k, hm)

        return negation

    if op == "if":
        fc, fx, fy = args
        kind = node.type

        def choose(ctx):
            ck, chm = fc(ctx)
            x, y = fx(ctx), fy(ctx)
            ck = ctx.full(ck, np.int8)
            take = ck == K_TRUE
            cunk = ck == K_UNK
            branch_hm = _select_mask(take, x[-1], y[-1])
            if kind is T.BOOL:
                k = _select(take, x[0], y[0], ctx, np.int8)
                k = np.maximum(k, cunk.view(np.int8))  # unknown condition: unknown (1), unless already 2
                k = k - ((k == K_TRUE) & cunk).view(np.int8)  # 2 with an unknown condition → 1
                hm = _or(_and(cunk, _or(_or(chm, x[1]), y[1])), branch_hm)
                return (k, _and(hm, k == K_UNK))
            if kind is T.NUMBER:
                head = (_select(take, x[0], y[0], ctx, np.float64), _select(take, x[1], y[1], ctx, np.float64))
            else:
                head = (_select(take, x[0], y[0], ctx, np.int32),)
            unk = _or(cunk, _select_mask(take, x[-2], y[-2]))
            hm = _or(_and(cunk, _or(_or(chm, x[-1]), y[-1])), branch_hm)
            return (*head, unk, _and(hm, unk))

        return choose

    if op == "cmp":
        fa, fb = args
        sym = node.value
        kind = node.args[0].type
        lane = _compile_lane_cmp(node, shared, keys) if kind is T.NUMBER else None

        def compare(ctx):
            if lane is not None:
                exact = lane(ctx)
                if exact is not None:
                    return exact
            a, b = fa(ctx), fb(ctx)
            if kind is T.NUMBER:
                yes, unk, hm = _cmp_num(sym, a, b, ctx)
                return (_tri(ctx.full(yes, bool), unk), hm)
            if kind is T.BOOL:
                (ak, ahm), (bk, bhm) = a, b
                ak, bk = ctx.full(ak, np.int8), ctx.full(bk, np.int8)
                unk = (ak == K_UNK) | (bk == K_UNK)
                yes = (ak == bk) if sym == "==" else (ak != bk)
                return (_tri(yes, unk if unk.any() else None), _or(ahm, bhm))
            yes = (a[0] == b[0]) if sym == "==" else (a[0] != b[0])
            return (_tri(ctx.full(yes, bool), _or(a[1], b[1])), _or(a[2], b[2]))

        return compare

    if op == "in":
        fa, fl = args
        negate = node.value
        kind = node.args[0].type

        def member(ctx):
            a = fa(ctx)
            _, items = fl(ctx)
            if kind is T.TEXT:
                codes = ctx.full(a[0], np.int32)
                if len(items) <= 8:
                    val = codes == items[0]
                    for code in items[1:]:
                        val = val | (codes == code)
                else:
                    val = np.isin(codes, np.asarray(items, dtype=np.int64))
            else:
                val = np.zeros(ctx.n, dtype=bool)
                for lo, hi in items:
                    eq, _, _ = _cmp_num("==", a, (lo, hi, None, None), ctx)
                    val = val | eq
            return (_tri(~val if negate else val, a[-2]), a[-1])

        return member

    raise AssertionError(f"unknown node {op}")


def _cost(node: Node) -> int:
    """A rough static cost: nodes in the subtree, divisions and choices counting more."""
    return sum(3 if n.op in ("div", "if") else 1 for n in node.walk())


def _logic(ctx, parts, costs, pick, settled):
    """Three-valued and (``pick`` = min, settled = false) / or (max, true) of ``parts``, compacting open rows.

    hm: a missing fact is involved where the result is unknown. Since every argument's own hm lies inside its
    unknown rows, the union of the arguments' hm, restricted to the rows where the result is unknown, is exact.
    """
    k, hm = parts[0](ctx)
    owned = False  # whether k is this call's own array (then updated in place, without temporaries)
    masks = [] if hm is None else [hm]
    for i in range(1, len(parts)):
        if costs[i] >= _COMPACT_COST and ctx.n >= _COMPACT_ROWS and np.ndim(k) > 0:
            still_open = k != settled
            if np.count_nonzero(still_open) <= ctx.n * _COMPACT_SHARE:
                open_rows = np.flatnonzero(still_open)
                return _logic_rest(ctx, k, masks, open_rows, parts[i:], costs[i:], pick, settled)
        bk, bhm = parts[i](ctx)
        if owned:
            pick(k, bk, out=k)
        else:
            k = pick(k, bk)
            owned = np.ndim(k) > 0
        if bhm is not None:
            masks.append(bhm)
    hm_any = _union(masks)
    if hm_any is None:
        return (k, None)
    if np.ndim(k) == 0:
        return (k, hm_any if k == K_UNK else None)
    hm = k == K_UNK
    np.bitwise_and(hm, hm_any, out=hm)
    return (k, hm)


def _logic_rest(ctx, k, masks, open_rows, parts, costs, pick, settled):
    """The remaining arguments on the open rows only; the settled rows keep their value."""
    k = k.copy()
    hm = _union(masks, copy=True)
    if len(open_rows):
        sub = ctx.subset(open_rows)
        sk, shm = _logic(sub, parts, costs, pick, settled)
        k[open_rows] = pick(k[open_rows], sub.full(sk, np.int8))
        if shm is not None:
            if hm is None:
                hm = np.zeros(ctx.n, dtype=bool)
            hm[open_rows] |= sub.full(shm, bool)
        ctx.absorb(sub, open_rows)
    if hm is None:
        return (k, None)
    np.bitwise_and(hm, k == K_UNK, out=hm)
    return (k, hm)


def _union(masks, copy: bool = False):
    if not masks:
        return None
    if len(masks) == 1:
        return masks[0].copy() if copy else masks[0]
    out = np.bitwise_or(masks[0], masks[1])
    for m in masks[2:]:
        np.bitwise_or(out, m, out=out)
    return out


def _add(a, b, ctx):
    return (_down(a[0] + b[0]), _up(a[1] + b[1]), _or(a[2], b[2]), _or(a[3], b[3]))


def _sub(a, b, ctx):
    return (_down(a[0] - b[1]), _up(a[1] - b[0]), _or(a[2], b[2]), _or(a[3], b[3]))


def _mul(a, b, ctx):
    alo, ahi = a[0], a[1]
    blo, bhi = b[0], b[1]
    unk, hm = _or(a[2], b[2]), _or(a[3], b[3])
    if _nonneg(alo, blo):  # amounts × rates: the common case, two products
        return (_down_nn(alo * blo), _up_nn(ahi * bhi), unk, hm)
    p1, p2, p3, p4 = alo * blo, alo * bhi, ahi * blo, ahi * bhi
    lo = np.minimum(np.minimum(p1, p2), np.minimum(p3, p4))
    hi = np.maximum(np.maximum(p1, p2), np.maximum(p3, p4))
    return (_down(lo), _up(hi), unk, hm)


def _div(a, b, ctx):
    blo, bhi = b[0], b[1]
    unk = _or(a[2], b[2])
    straddles = ctx.full((blo <= 0) & (bhi >= 0), bool)
    if straddles.any():
        zero = straddles & (blo == 0) & (bhi == 0)
        known = ~unk if unk is not None else None
        maybe = straddles & ~zero
        ctx.mark(maybe & known if known is not None else maybe)  # maybe zero, maybe not: stage 2 decides
        zero = zero & known if known is not None else zero
        unk = _or(unk, zero if zero.any() else None)
    if _nonneg(a[0]) and not np.any(blo <= 0):  # a share of a positive total: two quotients
        return (_down_nn(a[0] / bhi), _up_nn(a[1] / blo), unk, _or(a[3], b[3]))
    q1, q2, q3, q4 = a[0] / blo, a[0] / bhi, a[1] / blo, a[1] / bhi
    lo = np.minimum(np.minimum(q1, q2), np.minimum(q3, q4))
    hi = np.maximum(np.maximum(q1, q2), np.maximum(q3, q4))
    return (_down(lo), _up(hi), unk, _or(a[3], b[3]))


def _cmp_num(sym, a, b, ctx):
    alo, ahi, aunk, ahm = a
    blo, bhi, bunk, bhm = b
    unk = _or(aunk, bunk)
    hm = _or(ahm, bhm)
    if alo is ahi and blo is bhi:  # both exact: an ordinary comparison decides
        val = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}.get(sym)
        if val is not None:
            return (val(alo, blo), unk, hm)
        return ((alo == blo) if sym == "==" else (alo != blo), unk, hm)
    if sym in (">", ">="):
        sym = "<" if sym == ">" else "<="
        alo, ahi, blo, bhi = blo, bhi, alo, ahi
    if sym == "<":
        yes, no = ahi < blo, alo >= bhi
    elif sym == "<=":
        yes, no = ahi <= blo, alo > bhi
    else:
        same = (alo == ahi) & (blo == bhi) & (alo == blo)
        apart = (ahi < blo) | (alo > bhi)
        yes, no = (same, apart) if sym == "==" else (apart, same)
    undecided = ctx.full(~(yes | no), bool)
    if unk is not None:
        undecided = undecided & ~unk
    if undecided.any():
        ctx.mark(undecided)
    return (yes, unk, hm)


def _fen_bounds_nonneg(lo, hi):
    """As :func:`_fen_bounds` for bounds already ≥ 0 (final amounts, after max(0, ·))."""
    return np.floor(_down_nn(_down_nn(lo * 100.0) + 0.5)), np.floor(_up_nn(_up_nn(hi * 100.0) + 0.5))


def _fen_bounds(lo, hi):
    """Lower bound of fen(lo) and upper bound of fen(hi), where fen(v) = sign(v)·⌊|v|·100 + ½⌋ (monotone)."""
    if not np.any(lo < 0):  # the usual case (money × rate): one branch only; NaN rows stay NaN
        return _fen_bounds_nonneg(lo, hi)

    def lower(v):  # a lower bound of fen(v)
        pos = np.floor(_down(_down(v * 100.0) + 0.5))
        neg = -np.floor(_up(_up(-v * 100.0) + 0.5))
        return np.where(v >= 0, pos, neg)

    def upper(v):  # an upper bound of fen(v)
        pos = np.floor(_up(_up(v * 100.0) + 0.5))
        neg = -np.floor(_down(_down(-v * 100.0) + 0.5))
        return np.where(v >= 0, pos, neg)

    return lower(lo), upper(hi)


# ---- stage 1, exact lane: decimals as scaled integers ---------------------------------------------------------
#
# Most numbers in rules are decimals: money in whole fen, rates such as 0.3, thresholds such as 0.05, years and
# head counts. As integers scaled by a power of ten they compute *exactly* (no widening, no undecided rows, no
# stage 2), one plain pass per operation. The integers are held in floats: float64 represents every whole number
# below 2⁵³ exactly, float32 every one below 2²⁴, and sums, differences, products and comparisons of such numbers
# are exact as long as the result stays below the same limit; numpy compares and selects floats several times
# faster than int64, and float32 columns halve the memory read. A lane value is ``(units, scale, lo, hi, unk,
# hm)``: value = units / 10**scale, ``units`` a float array of whole numbers or a Python int, and ``lo ≤ units ≤
# hi`` Python integers bounding every row (missing rows hold a value inside the range too). Each operation checks
# from the bounds, before computing, that every result stays below 2⁵³, and computes in float64 whenever an input
# or the result may reach 2²⁴ (an array is float32 only when its bounds are below 2²⁴). When a result could reach
# 2⁵³, or a value is not a decimal (1/3, a quotient), the lane answers None and the interval code above computes
# that node.

_LANE_LIMIT = 2**53
_NARROW = 2**24


def _wide(lo: int, hi: int):
    """The dtype to compute a result bounded by lo..hi in: float64 from 2²⁴ on, else numpy's own promotion."""
    return None if max(-lo, hi) < _NARROW else np.float64


def _operand(u):
    """A Python integer as a ufunc operand: numpy would round one of 2²⁴ or more to a float32 array's precision."""
    return np.float64(u) if isinstance(u, int) and not -_NARROW < u < _NARROW else u


def _ufunc(f, x, y, lo: int, hi: int):
    """``f(x, y)`` for whole-number lane operands and a result bounded by lo..hi, exactly."""
    if isinstance(x, int) and isinstance(y, int):
        return int(f(x, y))
    return f(_operand(x), _operand(y), dtype=_wide(lo, hi))


@functools.lru_cache(maxsize=4096)
def _lane_scalar(value: Fraction):
    """An exact number as a lane value, or None when it is not a decimal (its denominator is not 2ᵃ·5ᵇ)."""
    den, twos, fives = value.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den != 1:
        return None
    scale = max(twos, fives)
    units = value.numerator * 10**scale // value.denominator
    if abs(units) >= _LANE_LIMIT:
        return None
    return (units, scale, units, units, None, None)


def decimal_lane(col: np.ndarray, overrides=None):
    """A float64 column (NaN missing) as ``(units, scale, lo, hi, unk, bad)`` for the exact lane.

    ``scale`` is the fewest decimal places that spell every value; a value is taken as ``units / 10**scale`` only
    where that decimal has at most 15 significant digits and rounds to the float, which makes it the float's
    shortest spelling, i.e. the value the row-wise path reads. ``bad`` marks the other rows (and the values kept
    exactly in ``overrides``): their units are a placeholder and stage 2 recomputes them. Units are float32 when
    every one is below 2²⁴.
    """
    n = len(col)
    unk = np.isnan(col)
    known = ~unk
    if not known.any():
        return (np.zeros(n, dtype=np.float32), 0, 0, 0, unk, None)
    vals = np.where(unk, col[known][0], col)
    # The scale: the largest number of places any value needs, found on a sample, checked on every row, and
    # raised by what the rows that failed need (each step a few passes, not one per candidate scale).
    step = max(1, n // 1024)
    scale = _places(vals[::step][known[::step]], 0)
    good = _spelled(vals, scale) & known
    failed = known & ~good
    if failed.any():
        scale = _places(vals[failed], scale)
        good = _spelled(vals, scale) & known
    whole = np.rint(vals * 10.0**scale)
    for i in overrides or ():
        good[i] = False
    if not good.any():
        return (np.zeros(n, dtype=np.float32), 0, 0, 0, unk if unk.any() else None, known)
    units = whole
    if not good.all():  # missing and bad rows: a placeholder inside the range of the good ones
        units[~good] = units[good].min()
    bad = known & ~good
    lo, hi = int(units.min()), int(units.max())
    if max(-lo, hi) < _NARROW:
        units = units.astype(np.float32)
    return (units, scale, lo, hi, unk if unk.any() else None, bad if bad.any() else None)


def _spelled(vals, k: int):
    """Where ``units / 10**k`` (at most 15 significant digits) rounds to the float, i.e. spells it."""
    p = 10.0**k
    whole = np.rint(vals * p)
    return (np.abs(whole) < 1e15) & (whole / p == vals)


def _places(vals, at_least: int) -> int:
    """The fewest places (at least ``at_least``, at most 12) that spell every value that some scale spells."""
    todo = np.ones(len(vals), dtype=bool)
    scale = at_least
    for k in range(at_least, 13):
        fits = todo & _spelled(vals, k)
        if fits.any():
            scale = k
            todo &= ~fits
            if not todo.any():
                break
    return scale


def _lane_to(v, scale):
    """``v``'s (units, lo, hi) at a scale ≥ its own, or None when they could reach 2⁵³."""
    units, own, lo, hi = v[0], v[1], v[2], v[3]
    if own == scale:
        return units, lo, hi
    f = 10 ** (scale - own)
    lo, hi = lo * f, hi * f
    if max(-lo, hi) >= _LANE_LIMIT:
        return None
    return _ufunc(np.multiply, units, f, lo, hi), lo, hi


def _lane_pair(a, b):
    scale = max(a[1], b[1])
    x, y = _lane_to(a, scale), _lane_to(b, scale)
    if x is None or y is None:
        return None
    return x, y, scale


def _fits(lo, hi) -> bool:
    return max(-lo, hi) < _LANE_LIMIT


def _lane_extreme(a, b, take_min: bool):
    pair = _lane_pair(a, b)
    if pair is None:
        return None
    (x, xlo, xhi), (y, ylo, yhi), scale = pair
    lo, hi = (min(xlo, ylo), min(xhi, yhi)) if take_min else (max(xlo, ylo), max(xhi, yhi))
    u = _ufunc(np.minimum if take_min else np.maximum, x, y, min(xlo, ylo), max(xhi, yhi))
    return (u, scale, lo, hi, _or(a[4], b[4]), _or(a[5], b[5]))


def _lane_fen(v):
    """fen(v) (half away from zero) at scale 2, or None."""
    units, scale, lo, hi, unk, hm = v
    if scale <= 2:
        x = _lane_to(v, 2)
        return None if x is None else (x[0], 2, x[1], x[2], unk, hm)
    d = 10 ** (scale - 2)
    if 2 * max(-lo, hi) + 3 * d >= _LANE_LIMIT:
        return None

    def rnd(u):  # ⌊|u|/d + ½⌋ = ⌊(2|u| + d) / 2d⌋ with the sign of u
        if isinstance(u, int):
            q = (2 * abs(u) + d) // (2 * d)
            return q if u >= 0 else -q
        # Exact in float64: for whole x, m below 2⁵³ with x + m < 2⁵³, fl(x/m) rounds to ⌊x/m⌋ or above it, never
        # up to the next integer (which is at least 1/m away, more than half an ulp), so floor gives ⌊x/m⌋.
        if lo >= 0:
            q = np.add(u, d // 2, dtype=np.float64)
            np.divide(q, d, out=q)
            return np.floor(q, out=q)
        q = np.abs(u, dtype=np.float64)
        q *= 2
        q += d
        q /= 2 * d
        np.floor(q, out=q)
        return np.copysign(q, u, out=q)  # q is 0 where u is 0

    return (rnd(units), 2, rnd(lo), rnd(hi), unk, hm)


def _compile_lane(node: Node, shared: dict, keys: dict):
    """The exact-lane closure of a number node (memoised like :func:`_compile`), or None if it has none."""
    if node.type is not T.NUMBER:
        return None
    key = ("lane", node_key(node, keys))
    if key in shared:
        return shared[key]
    raw = _compile_lane_node(node, shared, keys)
    if raw is None or node.op in ("const", "param", "fact", "builtin"):
        shared[key] = raw
        return raw

    def memo(ctx):
        if key in ctx.memo:
            return ctx.memo[key]
        value = ctx.memo[key] = raw(ctx)
        return value

    shared[key] = memo
    return memo


def _compile_lane_node(node: Node, shared: dict, keys: dict):
    op = node.op
    if op == "const":
        const = _lane_scalar(node.value)
        return None if const is None else (lambda ctx: const)
    if op == "param":
        name = node.value
        return lambda ctx: _lane_scalar(ctx.params[name])
    if op == "builtin":
        return lambda ctx: (ctx.period_year, 0, ctx.period_year, ctx.period_year, None, None)
    if op == "fact":
        name = node.value

        def fact(ctx):
            units, scale, lo, hi, unk, bad = ctx.columns.decimal(name)
            ctx.mark(bad)  # values the lane cannot spell: stage 2 reads them exactly
            return (units, scale, lo, hi, unk, unk)

        return fact
    if op == "if":
        fc = _compile(node.args[0], shared, keys)
        fx, fy = _compile_lane(node.args[1], shared, keys), _compile_lane(node.args[2], shared, keys)
        if fx is None or fy is None:
            return None

        def choose(ctx):
            ck, chm = fc(ctx)
            x, y = fx(ctx), fy(ctx)
            if x is None or y is None:
                return None
            pair = _lane_pair(x, y)
            if pair is None:
                return None
            (xu, xlo, xhi), (yu, ylo, yhi), scale = pair
            dlo, dhi = xlo - yhi, xhi - ylo  # x − y
            if not _fits(dlo, dhi):
                return None
            wide = _wide(min(dlo, xlo, ylo), max(dhi, xhi, yhi))
            ck = ctx.full(ck, np.int8)
            take = ck == K_TRUE
            cunk = ck == K_UNK
            # y + take·(x − y): exact (whole numbers, take 0 or 1) and branch-free, in two or three passes
            if isinstance(xu, int) and isinstance(yu, int):
                units = np.multiply(take, (np.float32 if wide is None else np.float64)(xu - yu))
            else:
                units = np.subtract(_operand(xu), _operand(yu), dtype=wide)
                np.multiply(units, take, out=units)
            if not (isinstance(yu, int) and yu == 0):
                np.add(units, _operand(yu), out=units)
            unk = _or(cunk, _select_mask(take, x[4], y[4]))
            hm = _or(_and(cunk, _or(_or(chm, x[5]), y[5])), _select_mask(take, x[5], y[5]))
            return (units, scale, min(xlo, ylo), max(xhi, yhi), unk, _and(hm, unk))

        return choose
    args = [_compile_lane(a, shared, keys) for a in node.args]
    if not args or any(a is None for a in args) or op in ("div", "coalesce"):
        return None
    if op in ("add", "sub"):
        fa, fb = args
        plus = op == "add"

        def add(ctx):
            a, b = fa(ctx), fb(ctx)
            if a is None or b is None:
                return None
            pair = _lane_pair(a, b)
            if pair is None:
                return None
            (x, xlo, xhi), (y, ylo, yhi), scale = pair
            lo, hi = (xlo + ylo, xhi + yhi) if plus else (xlo - yhi, xhi - ylo)
            if not _fits(lo, hi):
                return None
            units = _ufunc(np.add if plus else np.subtract, x, y, lo, hi)
            return (units, scale, lo, hi, _or(a[4], b[4]), _or(a[5], b[5]))

        return add
    if op == "mul":
        fa, fb = args

        def mul(ctx):
            a, b = fa(ctx), fb(ctx)
            if a is None or b is None:
                return None
            corners = (a[2] * b[2], a[2] * b[3], a[3] * b[2], a[3] * b[3])
            lo, hi = min(corners), max(corners)
            if not _fits(lo, hi) or a[1] + b[1] > 36:
                return None
            return (_ufunc(np.multiply, a[0], b[0], lo, hi), a[1] + b[1], lo, hi, _or(a[4], b[4]), _or(a[5], b[5]))

        return mul
    if op == "neg":
        (fa,) = args

        def neg(ctx):
            a = fa(ctx)
            return None if a is None else (-a[0], a[1], -a[3], -a[2], a[4], a[5])

        return neg
    if op == "abs":
        (fa,) = args

        def absolute(ctx):
            a = fa(ctx)
            if a is None:
                return None
            units, scale, lo, hi, unk, hm = a
            alo = 0 if lo <= 0 <= hi else min(abs(lo), abs(hi))
            return (abs(units) if isinstance(units, int) else np.abs(units), scale, alo, max(-lo, hi), unk, hm)

        return absolute
    if op == "fen":
        (fa,) = args

        def fen(ctx):
            a = fa(ctx)
            return None if a is None else _lane_fen(a)

        return fen
    if op in ("min", "max"):
        take_min = op == "min"

        def extreme(ctx):
            out = args[0](ctx)
            for f in args[1:]:
                if out is None:
                    return None
                b = f(ctx)
                out = None if b is None else _lane_extreme(out, b, take_min)
            return out

        return extreme
    raise AssertionError(f"unknown node {op}")


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_CMP_UFUNC = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def _decided(sym: str, xlo: int, xhi: int, ylo: int, yhi: int):
    """True or False when ``x sym y`` is the same for every x in xlo..xhi and y in ylo..yhi, else None."""
    if sym in (">", ">="):
        sym, xlo, xhi, ylo, yhi = ("<" if sym == ">" else "<="), ylo, yhi, xlo, xhi
    if sym == "<":
        return True if xhi < ylo else False if xlo >= yhi else None
    if sym == "<=":
        return True if xhi <= ylo else False if xlo > yhi else None
    apart = xhi < ylo or yhi < xlo
    if apart or xlo == xhi == ylo == yhi:
        return (not apart) if sym == "==" else apart
    return None


def _compile_lane_cmp(node: Node, shared: dict, keys: dict):
    """An exact comparison of two numbers in the lane (``a / b ⋚ c`` cross-multiplied), or None."""
    left, right = node.args
    sym = node.value
    if right.op == "div" and left.op != "div":
        left, right, sym = right, left, _FLIP[sym]
    ufunc = _CMP_UFUNC[sym]
    if left.op != "div":
        fa, fb = _compile_lane(left, shared, keys), _compile_lane(right, shared, keys)
        if fa is None or fb is None:
            return None

        def compare(ctx):
            a, b = fa(ctx), fb(ctx)
            if a is None or b is None:
                return None
            pair = _lane_pair(a, b)
            if pair is None:
                return None
            (x, xlo, xhi), (y, ylo, yhi), _ = pair
            unk, hm = _or(a[4], b[4]), _or(a[5], b[5])
            same = _decided(sym, xlo, xhi, ylo, yhi)
            if same is not None:  # the bounds of the data decide every row (money > 0, say): no pass over it
                code = K_TRUE if same else K_FALSE
                return (code, None) if unk is None else (_tri_owned(np.full(ctx.n, same), unk), hm)
            yes = ctx.full(ufunc(_operand(x), _operand(y)), bool)
            return (_tri_owned(yes, unk), hm)

        return compare
    fn, fd = _compile_lane(left.args[0], shared, keys), _compile_lane(left.args[1], shared, keys)
    fc = _compile_lane(right, shared, keys)
    if fn is None or fd is None or fc is None:
        return None

    def quotient(ctx):
        # a/b ⋚ c with a = A/10^sa, b = B/10^sb, c = C/10^sc  ⟺  A·10^(sb+sc) ⋚ C·B·10^sa  (B > 0; flipped if B < 0)
        a, b, c = fn(ctx), fd(ctx), fc(ctx)
        if a is None or b is None or c is None:
            return None
        shift = b[1] + c[1] - a[1]  # only one side needs a power of ten
        fl, fr = 10 ** max(shift, 0), 10 ** max(-shift, 0)
        lbound = max(-a[2], a[3]) * fl
        rbound = max(-c[2], c[3]) * max(-b[2], b[3]) * fr
        if lbound >= _LANE_LIMIT or rbound >= _LANE_LIMIT:
            return None
        lhs = _ufunc(np.multiply, a[0], fl, -lbound, lbound) if fl != 1 else a[0]
        cbound = max(-c[2], c[3]) * fr
        cu = _ufunc(np.multiply, c[0], fr, -cbound, cbound) if fr != 1 else c[0]
        rhs = _ufunc(np.multiply, cu, b[0], -rbound, rbound)
        unk, hm = _or(_or(a[4], b[4]), c[4]), _or(_or(a[5], b[5]), c[5])
        if b[2] <= 0:
            bu = ctx.full(b[0], np.float64)
            if b[2] < 0:
                negative = bu < 0
                if negative.any():  # a negative divisor flips the comparison
                    sign = 1.0 - 2.0 * negative
                    lhs, rhs = lhs * sign, rhs * sign
            zero = bu == 0
            if zero.any():  # x / 0 is unknown, with no missing fact
                unk = _or(unk, zero)
        return (_tri_owned(ctx.full(ufunc(_operand(lhs), _operand(rhs)), bool), unk), hm)

    return quotient


# ---- stage 2: exact rationals on the undecided rows ---------------------------------------------------------


# Integers stay int64 while they are small enough for the next product not to overflow, and become Python
# integers (object arrays) only when they are not: most stage-2 rows are money × rate, well inside int64.
_SAFE = 2**31
_HUGE = 2**62


def _is_obj(a) -> bool:
    return not isinstance(a, int) and a.dtype == object


def _exceeds(a, limit) -> bool:
    if isinstance(a, int):
        return abs(a) >= limit
    if a.dtype == object:
        return True
    return a.size > 0 and int(np.max(np.abs(a))) >= limit


def _obj(a):
    return a if isinstance(a, int) or a.dtype == object else a.astype(object)


def _shrink(a):
    if _is_obj(a) and (a.size == 0 or max(abs(int(x)) for x in a) < _HUGE):
        return a.astype(np.int64)
    return a


def _imul(a, b):
    if _exceeds(a, _SAFE) or _exceeds(b, _SAFE):
        return _shrink(_obj(a) * _obj(b))
    return a * b


def _iadd(a, b):
    if _exceeds(a, _HUGE) or _exceeds(b, _HUGE):
        return _shrink(_obj(a) + _obj(b))
    return a + b


def _isub(a, b):
    if _exceeds(a, _HUGE) or _exceeds(b, _HUGE):
        return _shrink(_obj(a) - _obj(b))
    return a - b


def _isame(n, d):
    if _is_obj(n) or _is_obj(d):
        return _obj(n), _obj(d)
    return n, d


class _Exact:
    """Evaluates a tree on a subset of rows with exact rationals (numerator, denominator > 0 integer arrays)."""

    def __init__(self, columns: Columns, rows: np.ndarray, params: dict, period_year: int, ctx: _Ctx, keys: dict):
        self.keys = keys
        self.memo: dict = {}
        self.columns = columns
        self.rows = rows
        self.m = len(rows)
        self.params = params
        self.period_year = period_year
        self.ctx = ctx
        self._facts: dict[str, tuple] = {}

    def full(self, value):
        if abs(value) < _HUGE:
            return np.full(self.m, value, dtype=np.int64)
        arr = np.empty(self.m, dtype=object)
        arr[:] = [value] * self.m
        return arr

    def no(self):
        return np.zeros(self.m, dtype=bool)

    def const_num(self, value: Fraction):
        return (self.full(value.numerator), self.full(value.denominator), self.no(), self.no())

    def eval(self, node: Node):
        key = node_key(node, self.keys)
        value = self.memo.get(key)
        if value is None:
            value = self.memo[key] = getattr(self, f"op_{node.op}")(node)
        return value

    def op_const(self, node):
        if node.type is T.NUMBER:
            return self.const_num(node.value)
        if node.type is T.BOOL:
            return (np.full(self.m, bool(node.value)), self.no(), self.no())
        if node.type is T.TEXT:
            return (np.full(self.m, self.ctx.code(node.value)), self.no(), self.no())
        return ("list", node.value, node.item_type)

    def op_param(self, node):
        value = self.params[node.value]
        if node.type is T.NUMBER:
            return self.const_num(value)
        if node.type is T.BOOL:
            return (np.full(self.m, bool(value)), self.no(), self.no())
        if node.type is T.TEXT:
            return (np.full(self.m, self.ctx.code(value)), self.no(), self.no())
        return ("list", value, node.item_type)

    def op_builtin(self, node):
        return self.const_num(Fraction(self.period_year))

    def op_fact(self, node):
        name = node.value
        if name in self._facts:
            return self._facts[name]
        if node.type is T.TEXT:
            codes, unk = self.columns.text(name)
            codes = codes[self.rows]
            unk = codes < 0
            out = (codes, unk, unk)
        elif node.type is T.BOOL:
            col = self.columns.data.get(name)
            vals = col[self.rows] if col is not None else np.full(self.m, np.nan)
            unk = np.isnan(vals)
            out = (vals == 1.0, unk, unk)
        else:
            nums, dens = self.full(0), self.full(1)
            col = self.columns.data.get(name)
            vals = col[self.rows] if col is not None else np.full(self.m, np.nan)
            unk = np.isnan(vals)
            ftype = self.columns.catalogue[name].type
            overrides = self.columns.overrides.get(name, {})
            # Whole numbers and money (checked to be whole fen) convert without a detour through text.
            if ftype in (FactType.INT, FactType.BOOL):
                fast = ~unk
                scale = 1
            elif ftype is FactType.MONEY:
                fast = ~unk & (np.abs(vals) < 1e13)  # whole fen, at most 15 significant digits
                scale = 100
            else:
                fast = ~unk & (vals == np.floor(vals)) & (np.abs(vals) < 1e15)
                scale = 1
            if fast.any():
                ints = np.rint(np.where(fast, vals, 0.0) * scale).astype(np.int64)
                nums = np.where(fast, ints, nums)
                dens = np.where(fast, np.int64(scale), dens)
            if ftype in (FactType.RATIO, FactType.NUMBER):
                # A decimal with k ≤ 12 places and at most 15 significant digits is the only one of that length
                # that rounds to its float, so it is the float's shortest spelling: find k without text.
                todo = ~unk & ~fast
                for k in range(1, 13):
                    if not todo.any():
                        break
                    scale_k = 10.0**k
                    whole = np.rint(vals * scale_k)
                    ok = todo & (np.abs(whole) < 1e15) & ((whole / scale_k) == vals)
                    if ok.any():
                        nums = np.where(ok, np.where(ok, whole, 0.0).astype(np.int64), nums)
                        dens = np.where(ok, np.int64(10**k), dens)
                        fast = fast | ok
                        todo = todo & ~ok
            if overrides:  # the few values whose float is not their decimal: from the exact override
                fast = fast & ~np.fromiter((int(i) in overrides for i in self.rows), dtype=bool, count=self.m)
            slow = np.flatnonzero(~unk & ~fast)
            if len(slow):
                nums, dens = nums.astype(object), dens.astype(object)
                for j in slow:
                    value = self.columns.exact(name, int(self.rows[j]))
                    pair = value.as_integer_ratio() if hasattr(value, "as_integer_ratio") else (int(value), 1)
                    nums[j], dens[j] = pair
                nums, dens = _shrink(nums), _shrink(dens)
                nums, dens = _isame(nums, dens)
            out = (nums, dens, unk, unk.copy())
        self._facts[name] = out
        return out

    @staticmethod
    def _reduce(n, d):
        n, d = _isame(n, d)
        g = np.gcd(n, d)
        g = np.where(g == 0, 1, g)
        return _isame(_shrink(n // g), _shrink(d // g))

    def _num2(self, node):
        a, b = self.eval(node.args[0]), self.eval(node.args[1])
        return a, b, a[2] | b[2], a[3] | b[3]

    def op_add(self, node):
        a, b, unk, hm = self._num2(node)
        n, d = self._reduce(_iadd(_imul(a[0], b[1]), _imul(b[0], a[1])), _imul(a[1], b[1]))
        return (n, d, unk, hm)

    def op_sub(self, node):
        a, b, unk, hm = self._num2(node)
        n, d = self._reduce(_isub(_imul(a[0], b[1]), _imul(b[0], a[1])), _imul(a[1], b[1]))
        return (n, d, unk, hm)

    def op_mul(self, node):
        a, b, unk, hm = self._num2(node)
        n, d = self._reduce(_imul(a[0], b[0]), _imul(a[1], b[1]))
        return (n, d, unk, hm)

    def op_div(self, node):
        a, b, unk, hm = self._num2(node)
        zero = (b[0] == 0).astype(bool) & ~unk
        bn = np.where(zero, 1, b[0])
        sign = np.where((bn < 0).astype(bool), -1, 1)
        n, d = self._reduce(_imul(_imul(a[0], b[1]), sign), _imul(a[1], _imul(bn, sign)))
        return (n, d, unk | zero, hm)

    def op_neg(self, node):
        n, d, unk, hm = self.eval(node.args[0])
        return (-n, d, unk, hm)

    def op_abs(self, node):
        n, d, unk, hm = self.eval(node.args[0])
        return (np.abs(n), d, unk, hm)

    def op_fen(self, node):
        n, d, unk, hm = self.eval(node.args[0])
        return (_exact_fen(n, d), self.full(100), unk, hm)

    def _less(self, a, b):
        return (_isub(_imul(a[0], b[1]), _imul(b[0], a[1])) < 0).astype(bool)

    def op_min(self, node):
        return self._extreme(node, lambda v, out: self._less(v, out))

    def op_max(self, node):
        return self._extreme(node, lambda v, out: self._less(out, v))

    def _extreme(self, node, beats):
        values = [self.eval(a) for a in node.args]
        out = values[0]
        for v in values[1:]:
            take = beats(v, out)
            out = (np.where(take, v[0], out[0]), np.where(take, v[1], out[1]), out[2] | v[2], out[3] | v[3])
        return out

    def op_coalesce(self, node):
        values = [self.eval(a) for a in node.args]
        out = list(values[-1])
        hm_all = values[-1][-1]
        for v in reversed(values[:-1]):
            known = ~v[-2]
            for k in range(len(out) - 2):
                out[k] = np.where(known, v[k], out[k])
            out[-2] = v[-2] & out[-2]
            hm_all = hm_all | v[-1]
        out[-1] = out[-2] & hm_all
        return tuple(out)

    def op_and(self, node):
        return self._logic(node, True)

    def op_or(self, node):
        return self._logic(node, False)

    def _logic(self, node, is_and):
        decided, any_unk, any_hm = self.no(), self.no(), self.no()
        for a in node.args:
            val, unk, hm = self.eval(a)
            decided |= ~unk & (~val if is_and else val)
            any_unk |= unk
            any_hm |= hm
        unk = ~decided & any_unk
        val = (~decided & ~any_unk) if is_and else decided
        return (val, unk, unk & any_hm)

    def op_not(self, node):
        val, unk, hm = self.eval(node.args[0])
        return (~val, unk, hm)

    def op_if(self, node):
        (cval, cunk, chm), x, y = (self.eval(a) for a in node.args)
        take = cval & ~cunk
        head = tuple(np.where(take, x[k], y[k]) for k in range(len(x) - 2))
        unk = cunk | np.where(take, x[-2], y[-2])
        hm = np.where(cunk, chm | x[-1] | y[-1], np.where(take, x[-1], y[-1]))
        return (*head, unk, hm & unk)

    def op_cmp(self, node):
        a, b = self.eval(node.args[0]), self.eval(node.args[1])
        sym = node.value
        if node.args[0].type is T.NUMBER:
            diff = _isub(_imul(a[0], b[1]), _imul(b[0], a[1]))
            val = {
                "<": diff < 0,
                "<=": diff <= 0,
                ">": diff > 0,
                ">=": diff >= 0,
                "==": diff == 0,
                "!=": diff != 0,
            }[sym]
            val = np.asarray(val).astype(bool)
            return (val, a[2] | b[2], a[3] | b[3])
        val = (a[0] == b[0]) if sym == "==" else (a[0] != b[0])
        return (np.asarray(val).astype(bool), a[-2] | b[-2], a[-1] | b[-1])

    def op_in(self, node):
        a = self.eval(node.args[0])
        _, items, item_type = self.eval(node.args[1])
        if item_type is T.TEXT:
            val = np.isin(a[0], np.asarray([self.ctx.code(s) for s in items], dtype=np.int64))
        else:
            val = self.no()
            for item in items:
                f = Fraction(item)
                val |= (_isub(_imul(a[0], f.denominator), _imul(a[1], f.numerator)) == 0).astype(bool)
        return ((~val if node.value else val), a[-2], a[-1])


def _exact_fen(n, d):
    """fen(n/d) exactly (half away from zero), for integer arrays with d > 0."""
    neg = (n < 0).astype(bool)
    q = _iadd(_imul(np.abs(n), 200), d) // _imul(d, 2)
    return _shrink(np.where(neg, -q, q))


# ---- clauses --------------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """Status (``Status`` codes) and amounts in fen for every row, and how many rows needed stage 2."""

    clause_id: str
    status: np.ndarray  # int8
    amount_fen: np.ndarray | None  # int64; 0 where not eligible, missing or undefined
    outputs_fen: dict[str, np.ndarray] = field(default_factory=dict)
    exact_rows: int = 0

    def __len__(self) -> int:
        return len(self.status)

    def result(self, i: int) -> tuple:
        """(Status, amount, outputs) of one row, in the row-wise path's form (Decimal in 元 or None)."""
        status = Status(int(self.status[i]))
        known = status in (Status.ELIGIBLE, Status.NOT_ELIGIBLE)
        amount = fen_to_decimal(int(self.amount_fen[i])) if (self.amount_fen is not None and known) else None
        outputs = {k: fen_to_decimal(int(v[i])) if known else None for k, v in self.outputs_fen.items()}
        return status, amount, outputs

    def counts(self) -> dict[str, int]:
        return {s.code: int((self.status == s).sum()) for s in Status}


class CompiledClause:
    """One clause version compiled once; evaluate it on any columns with any period and application date."""

    def __init__(self, library: Library, clause: Clause, version: ClauseVersion):
        self.library = library
        self.clause = clause
        self.version = version
        shared: dict = {}
        self.keys: dict = {}
        self.condition = _compile(version.condition.root, shared, self.keys)
        self.amount = _compile(version.amount.root, shared, self.keys) if version.amount is not None else None
        self.cap = _compile(version.cap.root, shared, self.keys) if version.cap is not None else None
        self.outputs = [(o.name, _compile(o.expression.root, shared, self.keys)) for o in version.outputs]
        formulas = [version.amount, version.cap] + [o.expression for o in version.outputs]
        self.amount_cost = sum(_cost(f.root) for f in formulas if f is not None)
        # The same formulas in the exact lane, where they have one (tried first; the closures above otherwise).
        self.amount_lane = _compile_lane(version.amount.root, shared, self.keys) if self.amount is not None else None
        self.cap_lane = _compile_lane(version.cap.root, shared, self.keys) if self.cap is not None else None
        self.output_lanes = [_compile_lane(o.expression.root, shared, self.keys) for o in version.outputs]
        self._params_on: dict = {}  # application date → parameter values in force

    def evaluate(
        self,
        columns: Columns,
        *,
        period,
        applied_on,
        force_exact: bool = False,
        threads: int = 1,
        chunk_rows: int | None = None,
    ) -> BatchResult:
        """Every row of ``columns``; stage 1 runs on row chunks (see :func:`chunk_bounds`) over ``threads``."""
        return _evaluate_all([self], columns, period, applied_on, force_exact, threads, chunk_rows)[0]

    def _plan(self, columns: Columns, period, applied_on) -> _Plan:
        period = Period.of(period)
        applied_on = as_date(applied_on)
        if not self.version.in_force(applied_on):
            raise RuleError(
                RuleErrorCode.NOT_IN_FORCE,
                f"条款「{self.clause.title}」的这一版本（{self.version.label}）在 {applied_on.isoformat()} 不生效",
            )
        params = self._params_on.get(applied_on)
        if params is None:  # the library is immutable: the values in force on a date are resolved once
            resolved = self.library.parameters.resolve(sorted(self.version.params), applied_on)
            params = self._params_on[applied_on] = {name: r.value.exact for name, r in resolved.items()}
        from .fastpath import program_for  # (that module imports this one)

        program = program_for(self, columns, params, applied_on, period.year)
        plan = _Plan(self, columns, params, period.year, {}, program)
        if program is not None:  # the chunks write every row straight into the results
            n = columns.n
            amount = np.empty(n, dtype=np.int64) if self.version.amount is not None else None
            outputs = {o.name: np.empty(n, dtype=np.int64) for o in self.version.outputs}
            plan.out = (np.empty(n, dtype=np.int8), amount, outputs)
        return plan

    def _chunk(self, plan: _Plan, start: int, stop: int):
        """Stage 1 on rows ``start:stop``: status, amounts, outputs and the rows left undecided (chunk indices)."""
        if plan.program is not None:  # decided once for these columns: see fastpath.py
            with np.errstate(all="ignore"):
                plan.program.run(plan.columns, start, stop, plan.out)
            return None
        ctx = _Ctx(plan.columns.chunk(start, stop), plan.params, plan.period_year)
        ctx._fresh = plan.fresh  # one code per text constant across the chunks and stage 2
        with np.errstate(all="ignore"):
            status, amount_fen, outputs_fen = self._stage1(ctx)
        return status, amount_fen, outputs_fen, ctx.unc

    def _finish(self, plan: _Plan, bounds, parts, force_exact: bool) -> BatchResult:
        """The chunks' stage-1 results joined in row order, then stage 2 on the undecided rows of all of them."""
        columns = plan.columns
        n = columns.n
        if plan.out is not None:  # written in place by the chunks, none left undecided (see fastpath.py)
            status, amount_fen, outputs_fen = plan.out
            undecided = np.zeros(0, dtype=np.int64)
        elif len(parts) == 1:
            status, amount_fen, outputs_fen, unc = parts[0]
            undecided = np.flatnonzero(unc) if unc is not None else np.zeros(0, dtype=np.int64)
        else:
            status = np.concatenate([p[0] for p in parts])
            amount_fen = np.concatenate([p[1] for p in parts]) if parts[0][1] is not None else None
            outputs_fen = {name: np.concatenate([p[2][name] for p in parts]) for name in parts[0][2]}
            undecided = [np.zeros(0, dtype=np.int64)]
            for (start, _stop), part in zip(bounds, parts, strict=True):
                if part[3] is not None:
                    undecided.append(np.flatnonzero(part[3]) + start)
            undecided = np.concatenate(undecided)
        rows = np.arange(n) if force_exact else undecided
        result = BatchResult(self.clause.id, status, amount_fen, outputs_fen, exact_rows=len(rows))
        if len(rows):
            ctx = _Ctx(columns, plan.params, plan.period_year)
            ctx._fresh = plan.fresh
            with np.errstate(all="ignore"):
                self._exact(result, columns, rows, plan.params, plan.period_year, ctx)
        return result

    def _stage1(self, ctx):
        """Status and amounts in fen on the rows of ``ctx`` (stage 1: marks what stage 2 must decide)."""
        n = ctx.n
        ck, chm = self.condition(ctx)
        ck = ctx.full(ck, np.int8)
        status = ck >> 1  # codes 0 → NOT_ELIGIBLE (0), 2 → ELIGIBLE (1); unknown (1) → 0, fixed below
        cunk = ck == K_UNK
        if cunk.any():
            # MISSING (2) where a missing fact is involved, UNDEFINED (3) otherwise
            status = status + cunk.view(np.int8) * np.int8(3)
            if chm is not None:
                status = status - (cunk & chm).view(np.int8)
        true = ck == K_TRUE
        status = np.ascontiguousarray(status, dtype=np.int8)
        amount_fen, outputs_fen = None, {}
        if self.amount is not None or self.outputs:
            if (
                n >= _COMPACT_ROWS
                and self.amount_cost >= _COMPACT_AMOUNT_COST
                and np.count_nonzero(true) <= n * _COMPACT_AMOUNT_SHARE
            ):
                # Amounts only where the condition holds: they are 0 everywhere else.
                rows = np.flatnonzero(true)
                sub = ctx.subset(rows)
                amount, outputs, part_unk, part_hm = self._amounts(sub, np.ones(len(rows), dtype=bool))
                ctx.absorb(sub, rows)
                sub_status = _demote(np.ones(len(rows), dtype=np.int8), part_unk, part_hm)
                status[rows] = sub_status
                keep = (sub_status == np.int8(Status.ELIGIBLE)).view(np.int8)
                if amount is not None:
                    amount_fen = np.zeros(n, dtype=np.int64)
                    amount_fen[rows] = amount * keep
                for name, values in outputs.items():
                    outputs_fen[name] = np.zeros(n, dtype=np.int64)
                    outputs_fen[name][rows] = values * keep
            else:
                amount_fen, outputs_fen, part_unk, part_hm = self._amounts(ctx, true)
                if part_unk is not None:
                    status = _demote(status, true & part_unk, part_hm)
                keep = (status == np.int8(Status.ELIGIBLE)).view(np.int8)
                if amount_fen is not None:  # every amount array here is this evaluation's own: zeroed in place
                    np.multiply(amount_fen, keep, out=amount_fen)
                for v in outputs_fen.values():
                    np.multiply(v, keep, out=v)
        return status, amount_fen, outputs_fen

    def _amounts(self, ctx, true):
        """Amount and outputs in fen on the rows of ``ctx`` (0 where ``true`` is not), with their unknown masks."""
        part_unk = part_hm = None
        amount_fen = None
        if self.amount is not None:
            exact = self._final_lane(self.amount_lane, self.cap_lane, self.cap is not None, true, ctx)
            if exact is not None:
                amount_fen, unk, hm = exact
            else:
                lo, hi, unk, hm = self.amount(ctx)
                if self.cap is not None:
                    clo, chi, cuk, chm2 = self.cap(ctx)
                    lo, hi, unk, hm = np.minimum(lo, clo), np.minimum(hi, chi), _or(unk, cuk), _or(hm, chm2)
                amount_fen = self._final(lo, hi, unk, true, ctx)
            part_unk, part_hm = _or(part_unk, unk), _or(part_hm, hm)
        outputs_fen = {}
        for (name, f), lane in zip(self.outputs, self.output_lanes, strict=True):
            exact = self._final_lane(lane, None, False, true, ctx)
            if exact is not None:
                outputs_fen[name], unk, hm = exact
            else:
                lo, hi, unk, hm = f(ctx)
                outputs_fen[name] = self._final(lo, hi, unk, true, ctx)
            part_unk, part_hm = _or(part_unk, unk), _or(part_hm, hm)
        return amount_fen, outputs_fen, part_unk, part_hm

    @staticmethod
    def _final_lane(lane, cap_lane, capped: bool, true, ctx):
        """(fen, unk, hm) of max(0, min(amount, cap)) computed exactly in the lane, or None where it has none.

        Lane values stay below 2⁵³ < MAX_FEN, so no amount here is out of range; rows that are not eligible are
        zeroed by the caller, like every amount.
        """
        if lane is None or (capped and cap_lane is None):
            return None
        v = lane(ctx)
        owned = False  # whether units is an array made here (then rounded in place: no temporaries)
        if v is not None and capped:
            cap = cap_lane(ctx)
            v = None if cap is None else _lane_extreme(v, cap, True)
            owned = True
        if v is None:
            return None
        units, scale, lo, hi, unk, hm = v
        if lo < 0:  # max(0, ·)
            units = max(units, 0) if isinstance(units, int) else np.maximum(units, 0)
            lo, hi = 0, max(hi, 0)
            owned = True
        if isinstance(units, int) or scale <= 2:
            fen = _lane_fen((units, scale, lo, hi, unk, hm))
            if fen is None:
                return None
            return ctx.full(fen[0], np.float64).astype(np.int64), unk, hm
        d = 10 ** (scale - 2)
        if 2 * hi + 3 * d >= _LANE_LIMIT:
            return None
        # ⌊u/d + ½⌋ for u ≥ 0: (u + d/2)/d is exact to within less than half an ulp of the next integer (see
        # _lane_fen), and converting to int64 truncates, which is the floor here.
        if owned and isinstance(units, np.ndarray) and units.dtype == np.float64:
            q = np.add(units, d // 2, out=units)
        else:
            q = np.add(units, d // 2, dtype=np.float64)
        np.divide(q, d, out=q)
        return q.astype(np.int64), unk, hm

    def _final(self, lo, hi, unk, true, ctx):
        """Amounts in fen for the rows whose condition holds; rows it cannot round for certain go to stage 2."""
        lo, hi = np.maximum(lo, 0.0), np.maximum(hi, 0.0)
        glo, ghi = _fen_bounds_nonneg(lo, hi)
        glo, ghi = ctx.full(glo, np.float64), ctx.full(ghi, np.float64)
        live = true if unk is None else (true & ~unk)
        sure = (glo == ghi) & (ghi <= MAX_FEN)
        undecided = live & ~sure
        if undecided.any():
            ctx.mark(undecided)
        fen = glo.astype(np.int64)  # NaN and out-of-range rows give garbage here, masked just below
        return fen * (live & sure).view(np.int8)

    def _exact(self, result: BatchResult, columns: Columns, rows, params, period_year, ctx):
        ex = _Exact(columns, rows, params, period_year, ctx, self.keys)
        val, unk, hm = ex.eval(self.version.condition.root)
        status = np.where(
            unk,
            np.where(hm, Status.MISSING, Status.UNDEFINED),
            np.where(val, Status.ELIGIBLE, Status.NOT_ELIGIBLE),
        ).astype(np.int8)
        true = val & ~unk
        part_unk = np.zeros(len(rows), dtype=bool)
        part_hm = np.zeros(len(rows), dtype=bool)
        amount = None
        if self.version.amount is not None:
            n_, d_, aunk, ahm = ex.eval(self.version.amount.root)
            if self.version.cap is not None:
                cn, cd, cunk, chm = ex.eval(self.version.cap.root)
                take_cap = (_isub(_imul(cn, d_), _imul(n_, cd)) < 0).astype(bool)
                n_, d_ = np.where(take_cap, cn, n_), np.where(take_cap, cd, d_)
                aunk, ahm = aunk | cunk, ahm | chm
            amount, aunk = self._exact_final(n_, d_, aunk)
            part_unk |= aunk
            part_hm |= ahm & aunk
        outputs = {}
        for o in self.version.outputs:
            n_, d_, ounk, ohm = ex.eval(o.expression.root)
            outputs[o.name], ounk = self._exact_final(n_, d_, ounk)
            part_unk |= ounk
            part_hm |= ohm & ounk
        bad = true & part_unk
        status = np.where(bad, np.where(part_hm, Status.MISSING, Status.UNDEFINED), status).astype(np.int8)
        keep = status == Status.ELIGIBLE
        result.status[rows] = status
        if amount is not None:
            result.amount_fen[rows] = np.where(keep, amount, 0).astype(np.int64)
        for name, values in outputs.items():
            result.outputs_fen[name][rows] = np.where(keep, values, 0).astype(np.int64)

    @staticmethod
    def _exact_final(n, d, unk):
        n = np.where((n < 0).astype(bool), 0, n)  # max(0, ·)
        fen = _exact_fen(n, d)
        over = (fen > MAX_FEN).astype(bool) & ~unk
        fen = np.where(over | unk, 0, fen)
        return fen, unk | over


def _demote(status, bad, part_hm):
    """ELIGIBLE (1) → UNDEFINED (3) where the amount is unknown (``bad``), or MISSING (2) where a missing fact is
    involved."""
    if bad is None or not bad.any():
        return status
    status = status + bad.view(np.int8) * np.int8(2)
    if part_hm is not None:
        status = status - (bad & part_hm).view(np.int8)
    return status


# ---- row chunks and threads -----------------------------------------------------------------------------------
#
# Stage 1 runs on row chunks whose bounds depend only on the row count, never on the number of threads: the
# choices that depend on a chunk's contents (row compaction, absent masks, which rows stage 2 receives) are then
# the same however many threads share the chunks, so every thread count gives byte-identical results. numpy
# releases the GIL inside its loops, so chunks on several threads run their array work in parallel; the Python
# that walks the compiled tree (about 0.1-0.3 ms per clause and chunk) does not, which is why chunks are large.
# A batch whose clauses all run as programs (fastpath.py) is the exception: a program takes no decision on a chunk's
# contents, so its results are the same on any chunks, and it may choose its own (PROGRAM_CHUNK_ROWS below).

CHUNK_ROWS = 50_000
# Below this many rows, clauses that all run as straight-line programs (fastpath.py) stay on the calling thread:
# their chunks take 0.1–0.4 ms, about what handing a chunk to another thread and taking the GIL back costs on an
# idle machine, and far less than a thread that the OS deschedules while it holds the GIL makes the others wait
# (three compared clauses on 100k rows, load 6.7: 2.7 ms on one thread, 7.2 ms on two). Results do not depend on it.
PROGRAM_THREAD_ROWS = 1_000_000
# Programs on one thread take chunks of this size: half the Python per row of 50k-row chunks, and no slower per row
# (the three compared clauses after OpenFisca's computation, alternating: 2.00 against 2.14 ms on 100k rows).
PROGRAM_CHUNK_ROWS = 200_000


def chunk_bounds(n: int, chunk_rows: int | None = None) -> list[tuple[int, int]]:
    """``ceil(n / chunk_rows)`` consecutive chunks of (nearly) equal size covering ``0:n`` (default CHUNK_ROWS)."""
    k = max(1, -(-n // (chunk_rows or CHUNK_ROWS)))
    return [(n * i // k, n * (i + 1) // k) for i in range(k)]


def default_threads() -> int:
    return os.cpu_count() or 1


@functools.lru_cache(maxsize=8)
def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policy-batch")


def _run_tasks(tasks: list, threads: int) -> list:
    """The results of ``tasks`` (callables) in order, computed by ``threads`` threads (this one included)."""
    if threads <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    results: list = [None] * len(tasks)
    pending = iter(range(len(tasks)))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                i = next(pending, None)
            if i is None:
                return
            results[i] = tasks[i]()

    helpers = [_pool(threads - 1).submit(work) for _ in range(min(threads, len(tasks)) - 1)]
    try:
        work()
    finally:
        for helper in helpers:
            helper.result()  # re-raises a helper's error here
    return results


@dataclass
class _Plan:
    """One clause's evaluation: its columns, resolved parameters, period and the codes of unknown texts."""

    clause: CompiledClause
    columns: Columns
    params: dict
    period_year: int
    fresh: dict
    program: object = None  # fastpath.Program: stage 1 in one straight pass, where the clause allows it
    out: tuple | None = None  # the program's results (status, amount, outputs), filled chunk by chunk


def _evaluate_all(compiled, columns: Columns, period, applied_on, force_exact, threads, chunk_rows) -> list:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"线程数须为正整数，收到 {threads!r}")
    if chunk_rows is not None and (isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1):
        raise ValueError(f"每块行数须为正整数，收到 {chunk_rows!r}")
    plans = [c._plan(columns, period, applied_on) for c in compiled]
    if all(p.program is not None for p in plans):
        if columns.n < PROGRAM_THREAD_ROWS:
            threads = 1
        if threads == 1 and chunk_rows is None:
            chunk_rows = PROGRAM_CHUNK_ROWS  # a program's results do not depend on its chunks: fewer, larger ones
    bounds = chunk_bounds(columns.n, chunk_rows)
    # Chunk by chunk, every clause on it: the columns that several clauses read are still in the cache.
    tasks = [functools.partial(p.clause._chunk, p, start, stop) for start, stop in bounds for p in plans]
    parts = _run_tasks(tasks, threads)
    m = len(plans)
    return [p.clause._finish(p, bounds, parts[i::m], force_exact) for i, p in enumerate(plans)]


def compile_library(library: Library, on) -> list[CompiledClause]:
    """Every clause version in force on ``on``, compiled."""
    on = as_date(on)
    return [CompiledClause(library, clause, version) for clause, version in library.clauses_in_force(on)]


def evaluate_batch(
    library: Library,
    columns: Columns,
    *,
    period,
    applied_on,
    clauses: list[str] | None = None,
    compiled: list[CompiledClause] | None = None,
    threads: int = 1,
    chunk_rows: int | None = None,
) -> dict[str, BatchResult]:
    """Every clause in force on ``applied_on`` (or the listed ones) for every row of ``columns``.

    ``threads``: how many threads share the row chunks of all the clauses (:func:`default_threads` for every
    core); the results are the same for every value. ``chunk_rows``: the chunk size (default :data:`CHUNK_ROWS`).
    """
    applied_on = as_date(applied_on)
    if compiled is None:
        if clauses is None:
            compiled = compile_library(library, applied_on)
        else:
            compiled = []
            for cid in clauses:
                clause = library.clause(cid)
                compiled.append(CompiledClause(library, clause, clause.version_on(applied_on)))
    results = _evaluate_all(compiled, columns, period, applied_on, False, threads, chunk_rows)
    return {c.clause.id: r for c, r in zip(compiled, results, strict=True)}


__all__ = [
    "CHUNK_ROWS",
    "BatchResult",
    "Columns",
    "CompiledClause",
    "chunk_bounds",
    "compile_library",
    "default_threads",
    "evaluate_batch",
]
