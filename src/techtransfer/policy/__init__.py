"""Policy as code: a framework-free rules engine for 政策兑现 (no Django import anywhere in this package).

- :mod:`.facts` — the fact catalogue (typed, with units and Chinese labels);
- :mod:`.expr` — the safe rule language (parsed with ``ast``, whitelisted, type-checked; never ``eval``);
- :mod:`.library` — policies, versioned clauses and dated, sourced parameters, loaded from ``library/*.yaml``;
- :mod:`.rowwise` — one decision with its trace (exact fractions, amounts in fen);
- :mod:`.vector` — the batch path (numpy), identical results;
- :mod:`.scenarios` — YAML scenarios (facts in, expected result out) run by pytest;
- :mod:`.calculators` — the commercialization-income split;
- :mod:`.bench` — ``techtransfer bench policies --enterprises 100000``.
"""

from .errors import RuleError, RuleErrorCode
from .expr import T, compile_expression
from .facts import EntityKind, Fact, FactCatalogue, FactType
from .library import Clause, ClauseVersion, Library, Track, default_library, load_library
from .results import ClauseResult, Period, Status
from .rowwise import evaluate, evaluate_policy
from .vector import BatchResult, Columns, CompiledClause, compile_library, evaluate_batch

__all__ = [
    "BatchResult",
    "Clause",
    "ClauseResult",
    "ClauseVersion",
    "Columns",
    "CompiledClause",
    "EntityKind",
    "Fact",
    "FactCatalogue",
    "FactType",
    "Library",
    "Period",
    "RuleError",
    "RuleErrorCode",
    "Status",
    "T",
    "Track",
    "compile_expression",
    "compile_library",
    "default_library",
    "evaluate",
    "evaluate_batch",
    "evaluate_policy",
    "load_library",
]
