"""``techtransfer bench policies --enterprises 100000``: the batch path against the whole library, and OpenFisca.

1. Generates facts for ``--enterprises`` entities (seeded; plausible distributions; about 3 % of every fact
   missing). Every row carries the facts of every entity kind, so clauses about projects, funds and portfolios
   are evaluated on the same number of rows as those about enterprises.
2. Evaluates every clause in force on ``--applied-on`` in batch on ``--threads`` threads (default: every core),
   ``--repeat`` times, and prints the wall time, clause evaluations per second, the rows that needed the exact
   stage, and peak memory (tracemalloc during one more pass, and the process's maximum resident set size). Before
   that it says how many clauses run as straight-line programs on these columns (:mod:`.fastpath`) and what
   building them took (their derived columns included: NaN-filled units, missing masks).
3. Re-evaluates ``--check-rows`` random rows of every clause row-wise and checks that both paths agree.
4. Implements three clauses in OpenFisca-core (``tech_sme.precheck``, ``hte.precheck``,
   ``huaibei.tech_service_subsidy``) with the same parameter values, runs them on the same facts and prints both
   throughputs and their ratio, computing only (inputs loaded, the engines alternating) and with loading (see
   :func:`_compare_openfisca`). OpenFisca computes on one thread; ours is shown on ``--threads`` and on one.
   OpenFisca is not a dependency of the project: install it only to compare (``pip install openfisca-core``);
   without it this half is skipped with a message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import time
import tracemalloc

import numpy as np

from .fastpath import prepare
from .library import Library, default_library
from .results import Period, as_date
from .rowwise import evaluate_version
from .vector import PROGRAM_THREAD_ROWS, Columns, compile_library, default_threads, evaluate_batch

OPENFISCA_CLAUSES = ("tech_sme.precheck", "hte.precheck", "huaibei.tech_service_subsidy")


# ---- facts ----------------------------------------------------------------------------------------------------


def generate_facts(n: int, *, seed: int = 20241, missing: float = 0.03) -> dict[str, np.ndarray]:
    """Plausible facts for ``n`` entities of every kind: NaN (or None for options) where a fact is missing."""
    rng = np.random.default_rng(seed)

    def money(x):
        return np.round(np.maximum(x, 0.0), 2)

    def ratio(a, b):
        return np.round(rng.beta(a, b, n), 4)

    def years(lo, hi):
        return rng.integers(lo, hi + 1, n).astype(float)

    def flag(p):
        return (rng.random(n) < p).astype(float)

    def pick(choices, weights):
        return rng.choice(np.array(choices, dtype=object), n, p=np.array(weights) / sum(weights))

    revenue = money(rng.lognormal(np.log(3e7), 1.4, n))
    sales_3y = money(revenue * rng.uniform(2.2, 3.2, n))
    total_investment = money(rng.lognormal(np.log(2e8), 0.8, n))
    project_count = np.floor(rng.uniform(0, 300, n))
    soe_main_revenue = money(rng.lognormal(np.log(1.5e9), 0.5, n))
    facts = {
        "staff": np.maximum(1, np.round(rng.lognormal(np.log(60), 1.1, n))),
        "revenue": revenue,
        "assets": money(revenue * rng.lognormal(0, 0.6, n)),
        "sme_score": np.round(np.clip(rng.normal(64, 14, n), 0, 100), 1),
        "tech_staff_indicator": np.where(rng.random(n) < 0.08, 0.0, rng.integers(1, 21, n).astype(float)),
        "is_tech_sme": flag(0.4),
        "tech_sme_registered_year": years(2017, 2025),
        "registered_years": np.round(rng.exponential(8, n), 1),
        "has_core_ip": flag(0.55),
        "field_in_8_areas": flag(0.6),
        "tech_staff_ratio": ratio(2.5, 12),
        "rd_spend_3y": money(sales_3y * rng.beta(2, 40, n)),
        "sales_3y": sales_3y,
        "rd_spend_in_china_ratio": ratio(9, 1),
        "hightech_income_ratio": ratio(3, 2),
        "newly_recognized_hte_year": years(2008, 2025),
        "is_innovation_team": flag(0.05),
        "instrument_sharing_spend": np.where(rng.random(n) < 0.7, 0.0, money(rng.lognormal(np.log(3e4), 1.2, n))),
        "tech_service_spend": np.where(rng.random(n) < 0.5, 0.0, money(rng.lognormal(np.log(8e4), 1.3, n))),
        "pilot_base_level": pick(["none", "municipal", "provincial", "national"], [90, 5, 4, 1]),
        "pilot_base_recognized_year": years(2018, 2025),
        "unit_kind": pick(
            ["university", "research_institute", "new_rd_institution", "enterprise", "other"], [35, 25, 10, 25, 5]
        ),
        "has_transfer_office": flag(0.6),
        "commercialization_income": money(rng.lognormal(np.log(5e5), 1.5, n)),
        "inventor_share_rate": np.where(rng.random(n) < 0.5, np.nan, rng.choice([0.5, 0.6, 0.7, 0.8], n)),
        "transfer_staff_share_rate": np.where(rng.random(n) < 0.6, np.nan, rng.choice([0.03, 0.05, 0.1, 0.15], n)),
        "fund_kind": pick(
            ["joint_fund", "guidance_fund", "innovation_fund", "seed_fund", "other"], [30, 25, 25, 15, 5]
        ),
        "contributor_kind": pick(
            ["university", "research_institute", "enterprise", "government", "other"], [20, 15, 45, 15, 5]
        ),
        "fund_contribution": money(rng.lognormal(np.log(8e5), 0.9, n)),
        "early_stage_investment": money(total_investment * rng.beta(5, 5, n)),
        "total_investment": total_investment,
        "project_count": project_count,
        "joint_project_count": rng.binomial(project_count.astype(np.int64), 0.7).astype(float),
        "soe_rd_spend": money(soe_main_revenue * rng.beta(3.5, 96.5, n)),
        "soe_main_revenue": soe_main_revenue,
    }
    for name, col in facts.items():
        holes = rng.random(n) < missing
        if col.dtype == object:
            col[holes] = None
        elif name not in ("inventor_share_rate", "transfer_staff_share_rate"):  # already half missing
            col[holes] = np.nan
    return facts


# ---- our engine -----------------------------------------------------------------------------------------------


def _run_batch(compiled, columns, period, applied_on, threads):
    results = {}
    timings = {}
    for c in compiled:
        t = time.perf_counter()
        results[c.clause.id] = c.evaluate(columns, period=period, applied_on=applied_on, threads=threads)
        timings[c.clause.id] = time.perf_counter() - t
    return results, timings


def _check_rows(library: Library, compiled, columns, results, period, applied_on, rows: int, seed: int):
    rng = random.Random(seed)
    checked, differences, spent = 0, [], 0.0
    for c in compiled:
        batch = results[c.clause.id]
        sample = rng.sample(range(columns.n), min(rows, columns.n))
        for i in sample:
            facts = {k: v for k, v in columns.row(i).items() if k in c.version.facts}
            t = time.perf_counter()
            r = evaluate_version(library, c.clause, c.version, facts, period=period, applied_on=applied_on)
            spent += time.perf_counter() - t
            checked += 1
            if batch.result(i) != (r.status, r.amount, r.outputs):
                differences.append((c.clause.id, i, batch.result(i), (r.status, r.amount, r.outputs)))
    return checked, differences, spent


# ---- OpenFisca ------------------------------------------------------------------------------------------------

INPUTS = {
    # name: (value_type, fill for a missing value: OpenFisca has no "missing")
    "staff": (int, 0),
    "revenue": (float, 0.0),
    "assets": (float, 0.0),
    "sme_score": (float, 0.0),
    "tech_staff_indicator": (float, 0.0),
    "registered_years": (float, 0.0),
    "has_core_ip": (bool, False),
    "field_in_8_areas": (bool, False),
    "tech_staff_ratio": (float, 0.0),
    "rd_spend_3y": (float, 0.0),
    "sales_3y": (float, 0.0),
    "rd_spend_in_china_ratio": (float, 0.0),
    "hightech_income_ratio": (float, 0.0),
    "is_tech_sme": (bool, False),
    "is_innovation_team": (bool, False),
    "tech_service_spend": (float, 0.0),
}


def build_openfisca(library: Library, applied_on: dt.date):
    """A minimal OpenFisca tax-benefit system with the three clauses, parameters taken from our library."""
    from openfisca_core.entities import build_entity
    from openfisca_core.parameters import ParameterNode
    from openfisca_core.periods import DateUnit
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    enterprise = build_entity(key="enterprise", plural="enterprises", label="企业", is_person=True)

    class System(TaxBenefitSystem):
        def __init__(self):
            super().__init__([enterprise])

    system = System()

    def variable(name, value_type, formula=None, label=""):
        attrs = {
            "value_type": value_type,
            "entity": enterprise,
            "definition_period": DateUnit.YEAR,
            "label": label or name,
        }
        if formula is not None:
            attrs["formula"] = formula
        system.add_variable(type(name, (Variable,), attrs))

    for name, (value_type, _fill) in INPUTS.items():
        variable(name, value_type)

    def tech_sme_precheck(e, period, parameters):
        p = parameters(period).tech_sme
        return (
            (e("staff", period) <= p.max_staff)
            * (e("revenue", period) <= p.max_revenue)
            * (e("assets", period) <= p.max_assets)
            * (e("sme_score", period) >= p.min_score)
            * (e("tech_staff_indicator", period) != 0)
        )

    def hte_precheck(e, period, parameters):
        p = parameters(period).hte
        revenue = e("revenue", period)
        sales = e("sales_3y", period)
        ratio = e("rd_spend_3y", period) / np.where(sales > 0, sales, 1)
        needed = np.where(
            revenue <= p.band_small_max_revenue,
            p.rd_ratio_small,
            np.where(revenue <= p.band_medium_max_revenue, p.rd_ratio_medium, p.rd_ratio_large),
        )
        return (
            (e("registered_years", period) >= p.min_registered_years)
            * e("has_core_ip", period)
            * e("field_in_8_areas", period)
            * (e("tech_staff_ratio", period) >= p.min_tech_staff_ratio)
            * (sales > 0)
            * (ratio >= needed)
            * (e("rd_spend_in_china_ratio", period) >= p.min_rd_in_china_ratio)
            * (e("hightech_income_ratio", period) >= p.min_hightech_income_ratio)
        )

    def tech_service_subsidy(e, period, parameters):
        p = parameters(period).huaibei
        spend = e("tech_service_spend", period)
        eligible = (e("is_tech_sme", period) + e("is_innovation_team", period)) * (spend > 0)
        return eligible * np.minimum(spend * p.service_subsidy_rate, p.service_subsidy_cap)

    variable("tech_sme_precheck", bool, tech_sme_precheck, "科技型中小企业评价条件预检")
    variable("hte_precheck", bool, hte_precheck, "高新技术企业认定条件预检")
    variable("tech_service_subsidy", float, tech_service_subsidy, "科技创新服务支出补助")

    tree: dict = {}
    for clause_id in OPENFISCA_CLAUSES:
        version = library.clause(clause_id).version_on(applied_on)
        for name in version.params:
            value = library.parameters[name].value_on(applied_on).value
            node = tree
            *path, leaf = name.split(".")
            for part in path:
                node = node.setdefault(part, {})
            node[leaf] = {"values": {"1900-01-01": float(value)}}
    system.parameters = ParameterNode("", data=tree)
    return system


def _build_openfisca_simulation(system, facts: dict, n: int, period: int):
    """OpenFisca's loading: a simulation for ``n`` entities with the inputs set (missing → the fill value)."""
    from openfisca_core.simulations import SimulationBuilder

    simulation = SimulationBuilder().build_default_simulation(system, count=n)
    for name, (value_type, fill) in INPUTS.items():
        col = facts[name]
        values = np.where(np.isnan(col), fill, col)
        simulation.set_input(name, str(period), values.astype(value_type))
    return simulation


def _calculate_openfisca(simulation, period: int):
    return {
        name: simulation.calculate(name, str(period))
        for name in ("tech_sme_precheck", "hte_precheck", "tech_service_subsidy")
    }


# ---- main -----------------------------------------------------------------------------------------------------


def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "∞"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="techtransfer bench policies", description="政策规则引擎基准：批量路径、逐行核对、与 OpenFisca 对比"
    )
    parser.add_argument("--enterprises", type=int, default=100_000, help="生成的主体数（默认 100000）")
    parser.add_argument("--seed", type=int, default=20241, help="随机种子")
    parser.add_argument("--period", type=int, default=2024, help="评价年度（默认 2024）")
    parser.add_argument("--applied-on", default="2025-06-30", help="申请日期：按该日生效的规则（默认 2025-06-30）")
    parser.add_argument("--repeat", type=int, default=3, help="批量评价重复次数，取最快一次（默认 3）")
    parser.add_argument("--check-rows", type=int, default=200, help="每个条款逐行核对的行数（默认 200）")
    parser.add_argument(
        "--threads", type=int, default=default_threads(), help="本引擎批量评价的线程数（默认为 CPU 核数）"
    )
    parser.add_argument("--skip-openfisca", action="store_true", help="不运行 OpenFisca 对比")
    args = parser.parse_args(argv)
    if args.enterprises < 1:
        parser.error("--enterprises 须为正整数")
    if args.threads < 1:
        parser.error("--threads 须为正整数")
    out = sys.stdout
    n = args.enterprises
    period = Period.of(args.period).year
    applied_on = as_date(args.applied_on)

    library = default_library()
    t = time.perf_counter()
    facts = generate_facts(n, seed=args.seed)
    t_generate = time.perf_counter() - t
    t = time.perf_counter()
    columns = Columns.from_arrays(library.catalogue, facts)
    t_columns = time.perf_counter() - t
    t = time.perf_counter()
    compiled = compile_library(library, applied_on)
    t_compile = time.perf_counter() - t
    t = time.perf_counter()
    programs = prepare(compiled, columns, period=period, applied_on=applied_on)
    t_programs = time.perf_counter() - t
    clauses = len(compiled)
    evaluations = n * clauses

    print(f"政策规则引擎基准：{n:,} 个主体 × {clauses} 个条款（{applied_on.isoformat()} 生效）", file=out)
    print(f"  生成事实 {t_generate:.2f} s；载入列（校验）{t_columns:.2f} s；编译 {t_compile * 1000:.1f} ms", file=out)
    print(
        f"  直通程序：{programs}/{clauses} 个条款（按这批列一次生成，含其派生列 {t_programs * 1000:.1f} ms；"
        "其余条款走通用路径）",
        file=out,
    )
    print(f"  本引擎线程数：{args.threads}（--threads；本机 {default_threads()} 核）", file=out)

    best, best_timings, results = None, None, None
    for _ in range(max(args.repeat, 1)):
        t = time.perf_counter()
        results, timings = _run_batch(compiled, columns, period, applied_on, args.threads)
        wall = time.perf_counter() - t
        if best is None or wall < best:
            best, best_timings = wall, timings
    print(f"{'条款':<38}{'毫秒':>9}{'评价/秒':>16}{'符合':>9}{'缺少事实':>9}{'精确复核行':>11}", file=out)
    for c in compiled:
        r = results[c.clause.id]
        counts = r.counts()
        ms = best_timings[c.clause.id] * 1000
        print(
            f"  {c.clause.id:<36}{ms:>9.1f}{_rate(n, best_timings[c.clause.id]):>16}"
            f"{counts['eligible']:>9}{counts['missing']:>9}{r.exact_rows:>11}",
            file=out,
        )
    print(
        f"批量评价：{evaluations:,} 次条款评价，耗时 {best:.3f} s（{args.threads} 线程，{args.repeat} 次取最快）",
        file=out,
    )
    print(f"  evaluations/s: {_rate(evaluations, best)}", file=out)

    tracemalloc.start()
    _run_batch(compiled, columns, period, applied_on, args.threads)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  内存：批量评价峰值 {peak / 2**20:.1f} MiB（tracemalloc），进程最大常驻 {maxrss:.0f} MiB", file=out)

    checked, differences, spent = _check_rows(
        library, compiled, columns, results, period, applied_on, args.check_rows, args.seed
    )
    verdict = "全部一致" if not differences else f"{len(differences)} 处不一致"
    print(f"逐行核对：{checked} 次逐行评价与批量结果{verdict}；逐行路径 {_rate(checked, spent)} 次/秒", file=out)
    for diff in differences[:5]:
        print(f"  不一致：{diff}", file=out)

    rc = 1 if differences else 0
    if args.skip_openfisca:
        print("OpenFisca 对比：已跳过（--skip-openfisca）", file=out)
        return rc
    try:
        import openfisca_core  # noqa: F401
    except ImportError:
        print(
            "OpenFisca 对比：未安装 openfisca-core，跳过这一半。"
            "（仅为对比而装：.venv/bin/pip install openfisca-core；它不是本项目的依赖）",
            file=out,
        )
        return rc
    return max(
        rc,
        _compare_openfisca(library, compiled, columns, facts, n, period, applied_on, args.repeat, args.threads, out),
    )


def _compare_openfisca(library, compiled, columns, facts, n, period, applied_on, repeat, threads, out) -> int:
    """Both engines on the same facts, timed the same way, each repeat in this order:

    1. OpenFisca loads: builds a simulation and sets its 16 inputs (missing → 0 / False);
    2. our engine computes the three clauses on ``threads`` threads, on the columns already loaded (``Columns``,
       whose per-column conversions were made by the batch run above, as OpenFisca's ``set_input`` converted its
       inputs);
    3. OpenFisca computes the three variables (on one thread: it has no other way);
    4. our engine computes them again on one thread (skipped when ``threads`` is 1).
    Each computation thus follows another's work (none finds its inputs fresh in the cache), and none keeps
    anything from one repeat to the next: OpenFisca gets a new simulation, we a new evaluation.
    Then, with loading: our engine builds ``Columns`` from the raw arrays of the facts these clauses read and
    evaluates on ``threads`` threads (its conversions included), against OpenFisca's steps 1 + 3.
    """
    from importlib.metadata import version

    system = build_openfisca(library, applied_on)
    ours = [c for c in compiled if c.clause.id in OPENFISCA_CLAUSES]
    read = sorted(set().union(*(c.version.facts for c in ours)))
    of_calc, of_load, our_calc, our_calc_1, our_total = [], [], [], [], []
    of_out = mine = None

    def evaluate(cols, on_threads):
        return evaluate_batch(library, cols, period=period, applied_on=applied_on, compiled=ours, threads=on_threads)

    for _ in range(max(repeat, 1)):
        t = time.perf_counter()
        simulation = _build_openfisca_simulation(system, facts, n, period)
        of_load.append(time.perf_counter() - t)
        t = time.perf_counter()
        mine = evaluate(columns, threads)
        our_calc.append(time.perf_counter() - t)
        t = time.perf_counter()
        of_out = _calculate_openfisca(simulation, period)
        of_calc.append(time.perf_counter() - t)
        if threads > 1:
            t = time.perf_counter()
            evaluate(columns, 1)
            our_calc_1.append(time.perf_counter() - t)
    for _ in range(max(repeat, 1)):
        t = time.perf_counter()
        fresh = Columns.from_arrays(library.catalogue, {name: facts[name] for name in read})
        evaluate(fresh, threads)
        our_total.append(time.perf_counter() - t)
    of_total = min(a + b for a, b in zip(of_load, of_calc, strict=True))
    ours_best, of_best, ours_total_best = min(our_calc), min(of_calc), min(our_total)
    evaluations = n * len(OPENFISCA_CLAUSES)
    ours_rate = evaluations / ours_best
    of_rate = evaluations / of_best
    print(
        f"OpenFisca-core {version('openfisca-core')} 对比（同一批事实、同样的参数值）：{'、'.join(OPENFISCA_CLAUSES)}",
        file=out,
    )
    print(
        f"  仅计算（输入已载入，交替运行，{max(repeat, 1)} 次取最快）："
        f"本引擎 {threads} 线程 {ours_best * 1000:.1f} ms，{ours_rate:,.0f} 次/秒；"
        f"OpenFisca 1 线程 {of_best * 1000:.1f} ms，{of_rate:,.0f} 次/秒",
        file=out,
    )
    if (
        threads > 1
        and n < PROGRAM_THREAD_ROWS
        and prepare(ours, columns, period=period, applied_on=applied_on) == len(ours)
    ):
        print(
            f"  注：不足 {PROGRAM_THREAD_ROWS:,} 行且条款全是直通程序时，本引擎只用调用线程"
            f"（一块只需 0.1–0.4 ms，交给另一线程不划算），故此处 {threads} 线程即 1 线程",
            file=out,
        )
    if our_calc_1:
        ours_1_best = min(our_calc_1)
        print(
            f"  本引擎 1 线程（同样交替运行）：{ours_1_best * 1000:.1f} ms，{evaluations / ours_1_best:,.0f} 次/秒；"
            f"之比（本引擎 1 线程 / OpenFisca）{of_best / ours_1_best:.2f}",
            file=out,
        )
    print(
        f"  含载入（本引擎：由原始数组建列并转换 {len(read)} 个事实；OpenFisca：建模拟、载入 {len(INPUTS)} 个输入）："
        f"本引擎 {threads} 线程 {ours_total_best * 1000:.1f} ms，{evaluations / ours_total_best:,.0f} 次/秒；"
        f"OpenFisca {of_total * 1000:.1f} ms，{evaluations / of_total:,.0f} 次/秒",
        file=out,
    )
    print(
        f"  吞吐量之比（本引擎 {threads} 线程 / OpenFisca 1 线程）：仅计算 {ours_rate / of_rate:.2f}；"
        f"含载入 {of_total / ours_total_best:.2f}",
        file=out,
    )

    # Agreement on rows where every fact the clause reads is present (OpenFisca has no notion of missing).
    agree_lines = []
    for c in ours:
        complete = np.ones(n, dtype=bool)
        for name in c.version.facts:
            complete &= ~np.isnan(facts[name])
        r = mine[c.clause.id]
        name = {"tech_sme.precheck": "tech_sme_precheck", "hte.precheck": "hte_precheck"}.get(
            c.clause.id, "tech_service_subsidy"
        )
        if name == "tech_service_subsidy":
            ours_amount = r.amount_fen[complete] / 100
            theirs = of_out[name][complete].astype(np.float64)
            same = np.abs(ours_amount - theirs) <= np.maximum(0.01, np.abs(ours_amount) * 1e-6)
            worst = float(np.max(np.abs(ours_amount - theirs))) if complete.any() else 0.0
            agree_lines.append(
                f"{c.clause.id} 金额一致 {same.mean():.2%}（OpenFisca 为 float32，最大相差 {worst:.2f} 元）"
            )
        else:
            same = (r.status[complete] == 1) == of_out[name][complete]
            agree_lines.append(f"{c.clause.id} 结论一致 {same.mean():.2%}")
    print(f"  结果核对（事实齐全的行）：{'；'.join(agree_lines)}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
