"""The rule library: policies, their clauses (versioned) and parameters, loaded from YAML and checked.

A library file holds one policy document::

    policy:      {id, title, document, number (文号), issuer, level, valid_from, valid_to}
    parameters:  {dotted.name: {label, unit, type, values: [{value, from, to, source, example}]}}
    clauses:     [{id, title, entity, track, benefit, source, condition, amount, cap, outputs, versions: [...]}]

``library/facts.yaml`` holds the fact catalogue. Everything is checked when loaded (and when staff save a
clause, through :meth:`Library.validate_clause`): an unknown fact, parameter or function, a wrong type, a date
that does not parse or overlapping versions give a ``RuleError`` whose details list every problem in Chinese.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import ErrorCollector, RuleError, RuleErrorCode
from .expr import Expression, Scope, T, compile_expression
from .facts import ENTITY_LABELS, EntityKind, FactCatalogue, catalogue_from_data
from .params import Parameter, ParameterSet, ParameterValue, ParamType, Source
from .results import parse_date

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


class Track(StrEnum):
    PRECHECK = "precheck"
    EXEMPT = "exempt"
    QUICK = "quick"
    PROCEDURE = "procedure"
    MONITOR = "monitor"


TRACK_LABELS = {
    Track.PRECHECK: "条件预检",
    Track.EXEMPT: "免申即享",
    Track.QUICK: "快申快享",
    Track.PROCEDURE: "按程序申报",
    Track.MONITOR: "指标监测",
}


class Level(StrEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"
    COUNTY = "county"


LEVEL_LABELS = {Level.NATIONAL: "国家", Level.PROVINCIAL: "省", Level.MUNICIPAL: "市", Level.COUNTY: "县区"}


# ---- YAML with exact decimals --------------------------------------------------------------------------------


class _DecimalLoader(yaml.SafeLoader):
    """Safe YAML where 0.05 is Decimal('0.05'), never a float."""


def _construct_decimal(loader, node):
    text = loader.construct_scalar(node).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(None, None, f"无法识别的数字「{text}」", node.start_mark) from None
    if not value.is_finite():
        raise yaml.constructor.ConstructorError(None, None, f"不支持的数字「{text}」", node.start_mark)
    return value


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def load_yaml(text: str, name: str = "") -> dict:
    try:
        data = yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        message = f"{name} {where}不是有效的 YAML：{getattr(exc, 'problem', None) or exc}".strip()
        raise RuleError(RuleErrorCode.BAD_RULE, message, {name or "yaml": [message]}) from None
    return data or {}


# ---- the model -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    id: str
    title: str
    source: Source  # document, number (文号), issuer
    level: Level
    valid_from: dt.date
    valid_to: dt.date | None
    summary: str = ""
    defined_in: str = ""


@dataclass(frozen=True)
class Output:
    name: str
    label: str
    expression: Expression


@dataclass(frozen=True)
class ClauseVersion:
    effective_from: dt.date
    effective_to: dt.date | None  # inclusive
    condition: Expression
    amount: Expression | None
    cap: Expression | None
    outputs: tuple[Output, ...]
    source: Source
    note: str = ""

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    @property
    def expressions(self) -> list[Expression]:
        found = [self.condition, self.amount, self.cap] + [o.expression for o in self.outputs]
        return [e for e in found if e is not None]

    @property
    def facts(self) -> frozenset[str]:
        return frozenset().union(*(e.facts for e in self.expressions))

    @property
    def params(self) -> frozenset[str]:
        return frozenset().union(*(e.params for e in self.expressions))

    @property
    def label(self) -> str:
        end = self.effective_to.isoformat() if self.effective_to else "长期"
        return f"{self.effective_from.isoformat()} 至 {end}"


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    policy_id: str
    entity: EntityKind
    track: Track
    versions: tuple[ClauseVersion, ...]
    benefit: str = ""  # what the entity gets, in words (奖励、补助、冠名权…)
    amount_label: str = ""
    description: str = ""
    defined_in: str = ""

    def version_on(self, on: dt.date) -> ClauseVersion:
        for version in self.versions:
            if version.in_force(on):
                return version
        spans = "；".join(v.label for v in self.versions)
        raise RuleError(
            RuleErrorCode.NOT_IN_FORCE,
            f"条款「{self.title}」在 {on.isoformat()} 没有生效的版本（生效期间：{spans}）",
            {"applied_on": [f"{on.isoformat()} 没有生效的版本"]},
        )


@dataclass
class Library:
    catalogue: FactCatalogue
    parameters: ParameterSet
    policies: dict[str, Policy] = field(default_factory=dict)
    clauses: dict[str, Clause] = field(default_factory=dict)
    digest: str = ""

    def clause(self, clause_id: str) -> Clause:
        try:
            return self.clauses[clause_id]
        except KeyError:
            raise RuleError(
                RuleErrorCode.UNKNOWN_CLAUSE, f"未找到政策条款「{clause_id}」", {"clause": [f"未找到「{clause_id}」"]}
            ) from None

    def clauses_in_force(self, on: dt.date, *, entity: EntityKind | None = None) -> list[tuple[Clause, ClauseVersion]]:
        found = []
        for clause in self.clauses.values():
            if entity is not None and clause.entity is not entity:
                continue
            for version in clause.versions:
                if version.in_force(on):
                    found.append((clause, version))
                    break
        return found

    def scope(self, entity: EntityKind | None = None) -> Scope:
        return Scope(self.catalogue, self.parameters, entity)

    def validate_clause(self, data: dict, *, policy_id: str | None = None) -> Clause:
        """Checks one clause as staff would save it; returns it or raises a RuleError listing every problem."""
        errors = ErrorCollector()
        policy = self.policies.get(policy_id or data.get("policy", "")) if isinstance(data, dict) else None
        clause = _build_clause(data, policy, self, errors, where="clause")
        errors.raise_if_any("条款校验未通过：" + (errors.items[0][2] if errors.items else ""))
        return clause

    def with_clause(self, clause: Clause) -> Library:
        """A new library with ``clause`` added or replaced; this one is left as it was."""
        clauses = dict(self.clauses)
        clauses[clause.id] = clause
        digest = hashlib.sha256((self.digest + repr(clause)).encode()).hexdigest()
        return replace(self, clauses=clauses, digest=digest)


# ---- building ------------------------------------------------------------------------------------------------


def _date(value, where: str, errors: ErrorCollector, *, required: bool = True) -> dt.date | None:
    if value is None or value == "":
        if required:
            errors.add(RuleErrorCode.BAD_RULE, where, "须填写日期（如 2024-01-01）")
        return None
    try:
        return parse_date(value)
    except ValueError:
        errors.add(RuleErrorCode.BAD_RULE, where, f"日期「{value}」无效，应写成 2024-01-01 的形式")
        return None


def _source(data, where: str, errors: ErrorCollector) -> Source:
    if data is None:
        return Source()
    if isinstance(data, str):
        return Source(article=data)
    if not isinstance(data, dict):
        errors.add(RuleErrorCode.BAD_RULE, where, "出处（source）应为映射：document、number、article、quote")
        return Source()
    known = {"document", "number", "issuer", "article", "quote", "note"}
    for key in set(data) - known:
        errors.add(RuleErrorCode.BAD_RULE, where, f"出处中有未知的项「{key}」")
    return Source(**{k: str(data.get(k) or "").strip() for k in known})


def _build_policy(data, name: str, errors: ErrorCollector) -> Policy | None:
    where = f"{name}:policy"
    if not isinstance(data, dict) or not data.get("id") or not data.get("title"):
        errors.add(RuleErrorCode.BAD_RULE, where, "政策须有 id 和 title")
        return None
    try:
        level = Level(data.get("level"))
    except ValueError:
        errors.add(
            RuleErrorCode.BAD_RULE,
            where,
            f"政策层级「{data.get('level')}」无效，可选：national、provincial、municipal、county",
        )
        return None
    valid_from = _date(data.get("valid_from"), f"{where}.valid_from", errors)
    valid_to = _date(data.get("valid_to"), f"{where}.valid_to", errors, required=False)
    if valid_from and valid_to and valid_to < valid_from:
        errors.add(RuleErrorCode.BAD_RULE, where, "政策的失效日期早于生效日期")
    source = Source(
        document=str(data.get("document") or data["title"]),
        number=str(data.get("number") or ""),
        issuer=str(data.get("issuer") or ""),
        note=str(data.get("note") or ""),
    )
    if valid_from is None:
        return None
    return Policy(
        id=str(data["id"]),
        title=str(data["title"]),
        source=source,
        level=level,
        valid_from=valid_from,
        valid_to=valid_to,
        summary=str(data.get("summary") or ""),
        defined_in=name,
    )


def _param_value(raw, ptype: ParamType, item_type: str, where: str, errors: ErrorCollector):
    if ptype is ParamType.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
            errors.add(RuleErrorCode.BAD_VALUE, where, f"取值「{raw}」应为数字")
            return None
        return Decimal(raw)
    if ptype is ParamType.BOOL:
        if not isinstance(raw, bool):
            errors.add(RuleErrorCode.BAD_VALUE, where, f"取值「{raw}」应为 true 或 false")
            return None
        return raw
    if ptype is ParamType.TEXT:
        if not isinstance(raw, str):
            errors.add(RuleErrorCode.BAD_VALUE, where, f"取值「{raw}」应为文字")
            return None
        return raw
    if not isinstance(raw, list) or not raw:
        errors.add(RuleErrorCode.BAD_VALUE, where, "列表参数的取值应为非空列表")
        return None
    items = []
    for item in raw:
        if item_type == "number":
            if isinstance(item, bool) or not isinstance(item, int | Decimal):
                errors.add(RuleErrorCode.BAD_VALUE, where, f"列表中的「{item}」应为数字")
                return None
            items.append(Decimal(item))
        else:
            if not isinstance(item, str):
                errors.add(RuleErrorCode.BAD_VALUE, where, f"列表中的「{item}」应为文字")
                return None
            items.append(item)
    return tuple(items)


def _build_parameter(name, data, policy: Policy | None, file: str, errors: ErrorCollector) -> Parameter | None:
    where = f"{file}:parameters.{name}"
    if not isinstance(data, dict) or not data.get("label"):
        errors.add(RuleErrorCode.BAD_RULE, where, f"参数「{name}」须有中文名称（label）和取值（values）")
        return None
    if not all(part.isidentifier() for part in str(name).split(".")):
        errors.add(RuleErrorCode.BAD_RULE, where, f"参数名「{name}」只能由字母、数字、下划线和点号组成")
        return None
    try:
        ptype = ParamType(data.get("type", "number"))
    except ValueError:
        errors.add(RuleErrorCode.BAD_RULE, where, f"参数类型「{data.get('type')}」无效，可选：number、text、bool、list")
        return None
    item_type = str(data.get("item_type") or ("text" if ptype is ParamType.LIST else ""))
    if ptype is ParamType.LIST and item_type not in ("text", "number"):
        errors.add(RuleErrorCode.BAD_RULE, where, "列表参数的 item_type 应为 text 或 number")
        return None
    raw_values = data.get("values")
    if not isinstance(raw_values, list) or not raw_values:
        errors.add(RuleErrorCode.BAD_RULE, where, f"参数「{name}」须至少有一个取值（values）")
        return None
    policy_source = policy.source if policy else None
    values = []
    for i, raw in enumerate(raw_values):
        vwhere = f"{where}.values[{i}]"
        if not isinstance(raw, dict) or "value" not in raw:
            errors.add(RuleErrorCode.BAD_RULE, vwhere, "每个取值须写成 {value: …, from: …, source: …}")
            continue
        value = _param_value(raw["value"], ptype, item_type, vwhere, errors)
        start = _date(raw.get("from", policy.valid_from if policy else None), f"{vwhere}.from", errors)
        end = _date(raw.get("to", policy.valid_to if policy else None), f"{vwhere}.to", errors, required=False)
        source = _source(raw.get("source"), f"{vwhere}.source", errors).merged(policy_source)
        if not source.article:
            errors.add(RuleErrorCode.BAD_RULE, vwhere, f"参数「{name}」的取值须注明出处条款（source.article）")
        if value is None or start is None:
            continue
        if end is not None and end < start:
            errors.add(RuleErrorCode.BAD_RULE, vwhere, "失效日期早于生效日期")
            continue
        values.append(ParameterValue(value, start, end, source, bool(raw.get("example", False))))
    values.sort(key=lambda v: v.effective_from)
    for prev, nxt in zip(values, values[1:], strict=False):
        if prev.effective_to is None or prev.effective_to >= nxt.effective_from:
            errors.add(
                RuleErrorCode.BAD_RULE,
                where,
                f"参数「{name}」的取值期间重叠：{prev.effective_from} 起的取值与 {nxt.effective_from} 起的取值",
            )
    if not values:
        return None
    return Parameter(
        name=str(name),
        label=str(data["label"]),
        type=ptype,
        values=tuple(values),
        unit=str(data.get("unit") or ""),
        description=str(data.get("description") or ""),
        item_type=item_type,
        defined_in=file,
    )


def _expression(text, expect: T, scope: Scope, where: str, errors: ErrorCollector) -> Expression | None:
    if text is None:
        return None
    if not isinstance(text, str):
        text = str(text)
    try:
        return compile_expression(text, expect=expect, scope=scope, field=where)
    except RuleError as exc:
        errors.extend(exc)
        return None


CLAUSE_KEYS = {
    "id",
    "title",
    "policy",
    "entity",
    "track",
    "benefit",
    "amount_label",
    "description",
    "source",
    "condition",
    "amount",
    "cap",
    "outputs",
    "versions",
    "from",
    "to",
    "note",
}
VERSION_KEYS = {"from", "to", "condition", "amount", "cap", "outputs", "source", "note"}


def _build_clause(data, policy: Policy | None, library: Library, errors: ErrorCollector, where: str) -> Clause | None:
    if not isinstance(data, dict):
        errors.add(RuleErrorCode.BAD_RULE, where, "条款应为映射（id、title、entity、condition…）")
        return None
    cid = str(data.get("id") or "").strip()
    where = f"{where}.{cid}" if cid and not where.endswith(cid) else where
    for key in set(data) - CLAUSE_KEYS:
        errors.add(RuleErrorCode.BAD_RULE, where, f"条款中有未知的项「{key}」")
    if not cid:
        errors.add(RuleErrorCode.BAD_RULE, where, "条款须有编号（id）")
    if not data.get("title"):
        errors.add(RuleErrorCode.BAD_RULE, where, "条款须有名称（title）")
    try:
        entity = EntityKind(data.get("entity"))
    except ValueError:
        options = "、".join(f"{k.value}（{v}）" for k, v in ENTITY_LABELS.items())
        errors.add(RuleErrorCode.BAD_RULE, f"{where}.entity", f"适用对象「{data.get('entity')}」无效，可选：{options}")
        return None
    try:
        track = Track(data.get("track", "procedure"))
    except ValueError:
        options = "、".join(f"{k.value}（{v}）" for k, v in TRACK_LABELS.items())
        errors.add(RuleErrorCode.BAD_RULE, f"{where}.track", f"兑现方式「{data.get('track')}」无效，可选：{options}")
        return None
    scope = library.scope(entity)
    clause_source = _source(data.get("source"), f"{where}.source", errors).merged(policy.source if policy else None)
    raw_versions = data.get("versions")
    if raw_versions is None:
        raw_versions = [{k: data[k] for k in VERSION_KEYS if k in data}]
    elif any(k in data for k in ("condition", "amount", "cap", "outputs")):
        errors.add(RuleErrorCode.BAD_RULE, where, "有 versions 时，condition/amount/cap/outputs 须写在各版本里")
    versions = []
    for i, raw in enumerate(raw_versions if isinstance(raw_versions, list) else []):
        vwhere = f"{where}.versions[{i}]" if data.get("versions") is not None else where
        if not isinstance(raw, dict):
            errors.add(RuleErrorCode.BAD_RULE, vwhere, "版本应为映射")
            continue
        for key in set(raw) - VERSION_KEYS:
            errors.add(RuleErrorCode.BAD_RULE, vwhere, f"版本中有未知的项「{key}」")
        start = _date(raw.get("from", policy.valid_from if policy else None), f"{vwhere}.from", errors)
        end = _date(raw.get("to", policy.valid_to if policy else None), f"{vwhere}.to", errors, required=False)
        if "condition" not in raw:
            errors.add(RuleErrorCode.BAD_RULE, f"{vwhere}.condition", "条款须有适用条件（condition）")
        condition = _expression(raw.get("condition"), T.BOOL, scope, f"{vwhere}.condition", errors)
        amount = _expression(raw.get("amount"), T.NUMBER, scope, f"{vwhere}.amount", errors)
        cap = _expression(raw.get("cap"), T.NUMBER, scope, f"{vwhere}.cap", errors)
        if cap is not None and raw.get("amount") is None:
            errors.add(RuleErrorCode.BAD_RULE, f"{vwhere}.cap", "有上限（cap）时须有金额公式（amount）")
        outputs = []
        raw_outputs = raw.get("outputs") or {}
        if not isinstance(raw_outputs, dict):
            errors.add(RuleErrorCode.BAD_RULE, f"{vwhere}.outputs", "分项金额（outputs）应为“名称: {label, formula}”")
            raw_outputs = {}
        for oname, ospec in raw_outputs.items():
            owhere = f"{vwhere}.outputs.{oname}"
            if not isinstance(ospec, dict) or "formula" not in ospec or not str(oname).isidentifier():
                errors.add(RuleErrorCode.BAD_RULE, owhere, "分项金额须写成 名称: {label: 中文名, formula: 公式}")
                continue
            expr = _expression(ospec["formula"], T.NUMBER, scope, owhere, errors)
            if expr is not None:
                outputs.append(Output(str(oname), str(ospec.get("label") or oname), expr))
        source = _source(raw.get("source"), f"{vwhere}.source", errors).merged(clause_source)
        if not source.article:
            errors.add(RuleErrorCode.BAD_RULE, f"{vwhere}.source", "条款须注明出处条款（source.article）")
        if start and end and end < start:
            errors.add(RuleErrorCode.BAD_RULE, vwhere, "版本的失效日期早于生效日期")
            continue
        if policy is not None and start is not None:
            if start < policy.valid_from or (policy.valid_to is not None and (end is None or end > policy.valid_to)):
                errors.add(RuleErrorCode.BAD_RULE, vwhere, "条款版本的生效期间超出了政策文件的有效期")
        if condition is None or start is None:
            continue
        version = ClauseVersion(
            effective_from=start,
            effective_to=end,
            condition=condition,
            amount=amount,
            cap=cap,
            outputs=tuple(outputs),
            source=source,
            note=str(raw.get("note") or data.get("note") or ""),
        )
        for pname in sorted(version.params):
            param = library.parameters[pname]
            if not any(v.in_force(start) for v in param.values):
                errors.add(
                    RuleErrorCode.NOT_IN_FORCE,
                    vwhere,
                    f"参数「{param.label}」（p.{pname}）在条款生效日 {start.isoformat()} 没有取值",
                )
        versions.append(version)
    if not versions:
        if raw_versions == [] or not isinstance(raw_versions, list):
            errors.add(RuleErrorCode.BAD_RULE, where, "条款须至少有一个版本")
        return None
    versions.sort(key=lambda v: v.effective_from)
    for prev, nxt in zip(versions, versions[1:], strict=False):
        if prev.effective_to is None or prev.effective_to >= nxt.effective_from:
            errors.add(RuleErrorCode.BAD_RULE, where, f"条款的版本期间重叠：{prev.label} 与 {nxt.label}")
    if not cid or not data.get("title"):
        return None
    return Clause(
        id=cid,
        title=str(data["title"]),
        policy_id=policy.id if policy else str(data.get("policy") or ""),
        entity=entity,
        track=track,
        versions=tuple(versions),
        benefit=str(data.get("benefit") or ""),
        amount_label=str(data.get("amount_label") or ""),
        description=str(data.get("description") or ""),
        defined_in=where.split(":")[0],
    )


def build_library(documents: list[tuple[str, dict]]) -> Library:
    """Builds a library from (name, parsed YAML) pairs: the fact catalogue first, then policies and clauses."""
    errors = ErrorCollector()
    fact_data = {}
    for name, doc in documents:
        if not isinstance(doc, dict):
            errors.add(RuleErrorCode.BAD_RULE, name, "文件内容应为映射")
            continue
        for fname, spec in (doc.get("facts") or {}).items():
            if fname in fact_data:
                errors.add(RuleErrorCode.BAD_RULE, f"{name}:facts.{fname}", f"事实「{fname}」重复定义")
            fact_data[fname] = spec
    errors.raise_if_any()
    catalogue = catalogue_from_data(fact_data)
    parameters = ParameterSet()
    library = Library(catalogue=catalogue, parameters=parameters)
    policies: dict[str, tuple[Policy | None, dict, str]] = {}
    for name, doc in documents:
        if "policy" not in doc:
            continue
        policy = _build_policy(doc.get("policy"), name, errors)
        if policy is not None:
            if policy.id in library.policies:
                errors.add(RuleErrorCode.BAD_RULE, f"{name}:policy", f"政策「{policy.id}」重复定义")
            library.policies[policy.id] = policy
        policies[name] = (policy, doc, name)
        for pname, pdata in (doc.get("parameters") or {}).items():
            param = _build_parameter(pname, pdata, policy, name, errors)
            if param is None:
                continue
            if param.name in parameters.parameters:
                errors.add(RuleErrorCode.BAD_RULE, f"{name}:parameters.{pname}", f"参数「{pname}」重复定义")
            parameters.parameters[param.name] = param
    errors.raise_if_any("规则库中的参数或政策有误：" + (errors.items[0][2] if errors.items else ""))
    for policy, doc, name in policies.values():
        raw_clauses = doc.get("clauses") or []
        if not isinstance(raw_clauses, list):
            errors.add(RuleErrorCode.BAD_RULE, f"{name}:clauses", "clauses 应为列表")
            continue
        for raw in raw_clauses:
            clause = _build_clause(raw, policy, library, errors, where=f"{name}:clauses")
            if clause is None:
                continue
            if clause.id in library.clauses:
                errors.add(RuleErrorCode.BAD_RULE, f"{name}:clauses.{clause.id}", f"条款「{clause.id}」重复定义")
            library.clauses[clause.id] = clause
    errors.raise_if_any("规则库中的条款有误：" + (errors.items[0][2] if errors.items else ""))
    canonical = json.dumps([[n, d] for n, d in documents], default=str, sort_keys=True, ensure_ascii=False)
    library.digest = hashlib.sha256(canonical.encode()).hexdigest()
    return library


def load_library(directory: str | Path | None = None) -> Library:
    """Reads every ``*.yaml`` of a directory (default: the shipped library) into a checked library."""
    directory = Path(directory) if directory else LIBRARY_DIR
    documents = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise RuleError(
                RuleErrorCode.BAD_RULE, f"{path.name} 不是 UTF-8 文本", {path.name: ["不是 UTF-8 文本"]}
            ) from None
        documents.append((path.name, load_yaml(text, path.name)))
    return build_library(documents)


@lru_cache(maxsize=1)
def default_library() -> Library:
    """The shipped library, loaded once per process."""
    return load_library()
