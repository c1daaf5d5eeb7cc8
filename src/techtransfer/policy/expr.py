"""The rule language: a small, safe expression language that bureau staff write and the engine checks.

Text is parsed with Python's own parser (``ast.parse(mode="eval")``) and then *rebuilt* node by node into the
engine's tree: only the whitelisted constructs below are accepted, every name must be a known fact, parameter
or function, and every operand must have the right type. Nothing is ever executed with ``eval``.

Allowed:
    facts            staff, revenue, has_core_ip, pilot_base_level, …  (the catalogue, for the clause's entity)
    parameters       p.tech_sme.max_staff   or   param("tech_sme.max_staff")
    the period       period_year   (the year evaluated)
    constants        500   0.05   "provincial"   True   False   [“a”, “b”] (only after in / not in)
    logic            and   or   not
    comparisons      <  <=  >  >=  ==  !=   (chains: 0 < x <= 1)   in   not in
    arithmetic       +  -  *  /   and unary minus
    choice           x if condition else y
    functions        min(a, b, …)  max(a, b, …)  abs(x)  fen(x) (round half up to 0.01)  coalesce(a, b, …)
    comments         # to the end of the line; line breaks anywhere

Semantics (identical in the row-wise and the batch paths): numbers are exact rationals (decimal constants are
exact, 0.1 is one tenth); a missing fact is *unknown*; unknown spreads through arithmetic and comparisons; and /
or / not follow three-valued (Kleene) logic, so ``False and <unknown>`` is False; ``x / 0`` is unknown (“无法判定”)
with no missing fact; ``coalesce`` takes its first known argument.
"""

from __future__ import annotations

import ast
import difflib
import io
import tokenize
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction

from .display import display_value
from .errors import ErrorCollector, RuleError, RuleErrorCode
from .facts import ENTITY_LABELS, EntityKind, FactCatalogue, FactType
from .params import ParameterSet, ParamType

MAX_LENGTH = 4000
MAX_NODES = 600
MAX_DEPTH = 60


class T(StrEnum):
    BOOL = "bool"
    NUMBER = "number"
    TEXT = "text"
    LIST = "list"


TYPE_WORDS = {T.BOOL: "是非判断", T.NUMBER: "数值", T.TEXT: "文字选项", T.LIST: "列表"}

FUNCTIONS = {
    # name: (min args, max args or None, description)
    "min": (2, None, "取最小值"),
    "max": (2, None, "取最大值"),
    "abs": (1, 1, "取绝对值"),
    "fen": (1, 1, "四舍五入到分"),
    "coalesce": (2, None, "取第一个已知的值"),
}

BUILTINS = {"period_year": (T.NUMBER, "评价年度")}

CMP_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
CMP_WORDS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
BIN_OPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}
BIN_WORDS = {"add": "+", "sub": "−", "mul": "×", "div": "÷"}

FORBIDDEN_OPS = {
    ast.Pow: "乘方 **",
    ast.Mod: "取余 %",
    ast.FloorDiv: "整除 //",
    ast.MatMult: "矩阵乘 @",
    ast.BitAnd: "按位与 &（条件“并且”请写 and）",
    ast.BitOr: "按位或 |（条件“或者”请写 or）",
    ast.BitXor: "按位异或 ^",
    ast.LShift: "移位 <<",
    ast.RShift: "移位 >>",
}

FORBIDDEN_NODES = {
    ast.Subscript: "下标 [...]",
    ast.Lambda: "lambda",
    ast.ListComp: "推导式",
    ast.SetComp: "推导式",
    ast.DictComp: "推导式",
    ast.GeneratorExp: "推导式",
    ast.Dict: "字典 {...}",
    ast.Set: "集合 {...}",
    ast.JoinedStr: "f 字符串",
    ast.NamedExpr: "赋值 :=",
    ast.Starred: "星号展开 *",
    ast.Await: "await",
    ast.Slice: "切片",
}


@dataclass(eq=False)
class Node:
    """One node of a checked expression. ``op`` says what it computes; ``type`` is one of ``T``."""

    op: str
    type: T
    args: tuple = ()
    value: object = None  # const value, fact/parameter name, comparison operator, negation flag of in
    src: str = ""
    line: int = 1
    col: int = 1
    item_type: T | None = None  # element type of a list
    enum_fact: str | None = None  # the enum fact a text value comes from (to check constants against it)

    def walk(self):
        yield self
        for arg in self.args:
            yield from arg.walk()


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, its tree and what it reads."""

    source: str
    root: Node
    facts: frozenset[str]
    params: frozenset[str]
    has_division: bool = False
    field: str = ""

    @property
    def type(self) -> T:
        return self.root.type


@dataclass
class Scope:
    """What an expression may refer to: the catalogue (for one entity kind) and the parameters."""

    catalogue: FactCatalogue
    parameters: ParameterSet
    entity: EntityKind | None = None
    extra_parameters: dict = field(default_factory=dict)  # name → Parameter, for checking a draft

    def parameter(self, name: str):
        if name in self.extra_parameters:
            return self.extra_parameters[name]
        if name in self.parameters:
            return self.parameters[name]
        return None

    def parameter_names(self) -> list[str]:
        return sorted(set(self.parameters.parameters) | set(self.extra_parameters))


def compile_expression(source: str, *, expect: T, scope: Scope, field: str = "expression") -> Expression:
    """Checks ``source`` and returns its tree; raises ``RuleError`` listing every problem, in Chinese."""
    checker = _Checker(source, scope, field)
    root = checker.check(expect)
    facts = frozenset(n.value for n in root.walk() if n.op == "fact")
    params = frozenset(n.value for n in root.walk() if n.op == "param")
    has_div = any(n.op == "div" for n in root.walk())
    return Expression(source=source, root=root, facts=facts, params=params, has_division=has_div, field=field)


class _Checker:
    def __init__(self, source, scope: Scope, field: str):
        self.source = source
        self.scope = scope
        self.field = field
        self.errors = ErrorCollector()
        self.wrapped = ""
        self.lines: list[str] = []

    # ---- parsing -------------------------------------------------------------------------------------------
    def fail(self, code, message, node=None):
        where = self.where(node) if node is not None else ""
        self.errors.add(code, self.field, f"{where}{message}")

    def where(self, node) -> str:
        line, col = self.position(node)
        return f"第 {line} 行第 {col} 列：" if self.source.count("\n") else f"第 {col} 个字符处："

    def position(self, node) -> tuple[int, int]:
        lineno = getattr(node, "lineno", 2)
        offset = getattr(node, "col_offset", 0)
        text = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        col = len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1
        return max(lineno - 1, 1), col

    def segment(self, node) -> str:
        return (ast.get_source_segment(self.wrapped, node) or "").strip()

    def parse(self):
        source = self.source
        if not isinstance(source, str) or not source.strip():
            raise RuleError(RuleErrorCode.SYNTAX, "表达式不能为空", {self.field: ["表达式不能为空"]})
        if len(source) > MAX_LENGTH:
            message = f"表达式过长（{len(source)} 个字符，最多 {MAX_LENGTH} 个）"
            raise RuleError(RuleErrorCode.SYNTAX, message, {self.field: [message]})
        # Wrapped in parentheses so that staff may break lines anywhere; the brackets of the text must then
        # stay balanced on their own (``a) or (b`` is refused, not silently regrouped).
        self.wrapped = "(\n" + source + "\n)"
        self.lines = self.wrapped.split("\n")
        try:
            depth = 0
            tokens = list(tokenize.generate_tokens(io.StringIO(self.wrapped).readline))
            for tok in tokens[1:]:
                if tok.type == tokenize.OP and tok.string in "([{":
                    depth += 1
                elif tok.type == tokenize.OP and tok.string in ")]}":
                    depth -= 1
                    if depth < 0 and not (tok.start[0] == len(self.lines)):
                        message = f"第 {tok.start[0] - 1} 行第 {tok.start[1] + 1} 列：多了一个右括号「{tok.string}」"
                        raise RuleError(RuleErrorCode.SYNTAX, message, {self.field: [message]})
            tree = ast.parse(self.wrapped, mode="eval")
        except RuleError:
            raise
        except SyntaxError as exc:
            line = (exc.lineno or 2) - 1
            if line > source.count("\n") + 1:  # the parser stopped at the closing bracket we added
                message = "表达式不完整：末尾缺少内容（例如比较符号后面的值）"
                raise RuleError(RuleErrorCode.SYNTAX, message, {self.field: [message]}) from None
            line = max(line, 1)
            col = exc.offset or 1
            reason = _syntax_reason(exc)
            message = f"第 {line} 行第 {col} 列附近有语法错误：{reason}"
            raise RuleError(RuleErrorCode.SYNTAX, message, {self.field: [message]}) from None
        except (tokenize.TokenError, IndentationError):
            message = "表达式有语法错误：括号或引号没有配对"
            raise RuleError(RuleErrorCode.SYNTAX, message, {self.field: [message]}) from None
        except (RecursionError, MemoryError, ValueError):
            message = "表达式嵌套过深或含有无法识别的字符"
            raise RuleError(RuleErrorCode.SYNTAX, message, {self.field: [message]}) from None
        count = 0
        stack = [(tree.body, 1)]
        while stack:
            node, depth = stack.pop()
            count += 1
            if depth > MAX_DEPTH or count > MAX_NODES:
                message = f"表达式过于复杂（嵌套不超过 {MAX_DEPTH} 层、不超过 {MAX_NODES} 个成分）"
                raise RuleError(RuleErrorCode.SYNTAX, message, {self.field: [message]})
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
        return tree.body

    def check(self, expect: T) -> Node:
        body = self.parse()
        if isinstance(body, ast.Tuple):
            message = "表达式中多了逗号（逗号只用于函数的参数和列表里）"
            raise RuleError(RuleErrorCode.SYNTAX, message, {self.field: [message]})
        root = self.visit(body)
        if root is not None and root.type != expect:
            if expect is T.BOOL:
                self.fail(
                    RuleErrorCode.TYPE,
                    f"条件的结果必须是是非判断（成立或不成立），而「{root.src}」是{TYPE_WORDS[root.type]}",
                )
            else:
                self.fail(
                    RuleErrorCode.TYPE,
                    f"金额公式的结果必须是数值，而「{root.src}」是{TYPE_WORDS[root.type]}",
                )
        self.errors.raise_if_any()
        return root

    # ---- building nodes ------------------------------------------------------------------------------------
    def make(self, op, type_, node, args=(), value=None, **kw) -> Node:
        line, col = self.position(node)
        return Node(op=op, type=type_, args=tuple(args), value=value, src=self.segment(node), line=line, col=col, **kw)

    def visit(self, node) -> Node | None:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            kind = FORBIDDEN_NODES.get(type(node), type(node).__name__)
            self.fail(
                RuleErrorCode.FORBIDDEN,
                f"不允许的写法「{self.segment(node)}」（{kind}）。只能使用事实、参数 p.名称、数字、文字、"
                "and/or/not、比较、+ - * /、min/max/abs/fen/coalesce 和“x if 条件 else y”",
                node,
            )
            return None
        return method(node)

    def visit_Constant(self, node):
        v = node.value
        if isinstance(v, bool):
            return self.make("const", T.BOOL, node, value=v)
        if isinstance(v, int):
            if len(str(abs(v))) > 24:
                self.fail(RuleErrorCode.FORBIDDEN, f"数字「{self.segment(node)}」位数过多", node)
                return None
            return self.make("const", T.NUMBER, node, value=Fraction(v))
        if isinstance(v, float):
            text = self.segment(node).replace("_", "")
            try:
                number = Decimal(text)
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite() or len(text) > 40:
                self.fail(RuleErrorCode.FORBIDDEN, f"无法识别的数字「{self.segment(node)}」", node)
                return None
            return self.make("const", T.NUMBER, node, value=Fraction(number))
        if isinstance(v, str):
            return self.make("const", T.TEXT, node, value=v)
        what = "空值 None（缺少的事实会自动按“缺少”处理）" if v is None else f"「{self.segment(node)}」"
        self.fail(RuleErrorCode.FORBIDDEN, f"不支持的常量{what}", node)
        return None

    def visit_Name(self, node):
        name = node.id
        if name in BUILTINS:
            type_, _label = BUILTINS[name]
            return self.make("builtin", type_, node, value=name)
        if name in ("p", "param"):
            self.fail(RuleErrorCode.FORBIDDEN, "参数要写成 p.参数名，例如 p.tech_sme.max_staff", node)
            return None
        if name in FUNCTIONS:
            self.fail(RuleErrorCode.FORBIDDEN, f"「{name}」是函数，要写成 {name}(…)", node)
            return None
        catalogue = self.scope.catalogue
        fact = catalogue.facts.get(name)
        if fact is None:
            self.fail(RuleErrorCode.UNKNOWN_FACT, f"未知的事实「{name}」{self.suggest_fact(name)}", node)
            return None
        entity = self.scope.entity
        if entity is not None and entity not in fact.entities:
            owners = "、".join(ENTITY_LABELS[e] for e in fact.entities)
            self.fail(
                RuleErrorCode.UNKNOWN_FACT,
                f"事实{fact.describe()}是关于{owners}的，本条款的对象是{ENTITY_LABELS[entity]}",
                node,
            )
            return None
        if fact.type is FactType.BOOL:
            return self.make("fact", T.BOOL, node, value=name)
        if fact.type is FactType.ENUM:
            return self.make("fact", T.TEXT, node, value=name, enum_fact=name)
        return self.make("fact", T.NUMBER, node, value=name)

    def suggest_fact(self, name: str) -> str:
        catalogue = self.scope.catalogue
        facts = [f for f in catalogue if self.scope.entity is None or self.scope.entity in f.entities]
        by_label = [f for f in facts if f.label == name or name in f.label]
        if by_label:
            f = by_label[0]
            return f"。「{name}」是事实 {f.name} 的中文名称，表达式里请写 {f.name}"
        close = difflib.get_close_matches(name, [f.name for f in facts], n=3, cutoff=0.6)
        if close:
            return "，是否要写：" + "、".join(f"{c}（{catalogue[c].label}）" for c in close) + "？"
        return "。可用的事实见事实目录"

    def param_node(self, name: str, node) -> Node | None:
        param = self.scope.parameter(name)
        if param is None:
            names = self.scope.parameter_names()
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
            hint = ("，是否要写：" + "、".join(f"p.{c}" for c in close) + "？") if close else ""
            self.fail(RuleErrorCode.UNKNOWN_PARAMETER, f"未知的参数「p.{name}」{hint}", node)
            return None
        if param.type is ParamType.NUMBER:
            return self.make("param", T.NUMBER, node, value=name)
        if param.type is ParamType.BOOL:
            return self.make("param", T.BOOL, node, value=name)
        if param.type is ParamType.TEXT:
            return self.make("param", T.TEXT, node, value=name)
        return self.make("param", T.LIST, node, value=name, item_type=T(param.item_type or "text"))

    def visit_Attribute(self, node):
        parts = []
        cur = node
        while isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        if isinstance(cur, ast.Name) and cur.id == "p":
            return self.param_node(".".join(reversed(parts)), node)
        self.fail(
            RuleErrorCode.FORBIDDEN,
            f"「{self.segment(node)}」：点号只能用于参数，写成 p.参数名（例如 p.tech_sme.max_staff）",
            node,
        )
        return None

    def visit_Call(self, node):
        func = node.func
        if not isinstance(func, ast.Name):
            self.fail(RuleErrorCode.FORBIDDEN, f"不允许的函数调用「{self.segment(node)}」", node)
            return None
        name = func.id
        if node.keywords:
            self.fail(RuleErrorCode.FORBIDDEN, f"函数 {name} 不接受“名称=值”形式的参数", node)
            return None
        if name == "param":
            arg = node.args[0] if len(node.args) == 1 else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                self.fail(RuleErrorCode.FORBIDDEN, '参数要写成 param("参数名") 或 p.参数名', node)
                return None
            return self.param_node(arg.value, node)
        if name not in FUNCTIONS:
            available = "、".join(f"{k}（{v[2]}）" for k, v in FUNCTIONS.items())
            self.fail(RuleErrorCode.UNKNOWN_FUNCTION, f"不支持的函数「{name}」，可用的函数：{available}", node)
            return None
        lo, hi, _desc = FUNCTIONS[name]
        n = len(node.args)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo} 个" if hi == lo else f"至少 {lo} 个"
            self.fail(RuleErrorCode.TYPE, f"函数 {name} 需要{want}参数，这里有 {n} 个", node)
            return None
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.fail(RuleErrorCode.FORBIDDEN, "不允许星号展开 *", node)
            return None
        args = [self.visit(a) for a in node.args]
        if any(a is None for a in args):
            return None
        if name == "coalesce":
            first = args[0].type
            if first is T.LIST or any(a.type != first for a in args):
                self.fail(RuleErrorCode.TYPE, "coalesce 的各个参数必须是同一类型", node)
                return None
            enum = args[0].enum_fact if all(a.enum_fact == args[0].enum_fact for a in args) else None
            return self.make("coalesce", first, node, args, enum_fact=enum)
        for a in args:
            if a.type is not T.NUMBER:
                self.fail(RuleErrorCode.TYPE, f"函数 {name} 的参数必须是数值，「{a.src}」是{TYPE_WORDS[a.type]}", node)
                return None
        return self.make(name, T.NUMBER, node, args)

    def visit_BoolOp(self, node):
        op = "and" if isinstance(node.op, ast.And) else "or"
        args = [self.visit(v) for v in node.values]
        if any(a is None for a in args):
            return None
        for a in args:
            if a.type is not T.BOOL:
                self.fail(
                    RuleErrorCode.TYPE,
                    f"{op} 两边必须是是非判断，「{a.src}」是{TYPE_WORDS[a.type]}"
                    + ("（是否漏了比较，如 > 0？）" if a.type is T.NUMBER else ""),
                    node,
                )
                return None
        return self.make(op, T.BOOL, node, args)

    def visit_UnaryOp(self, node):
        operand = self.visit(node.operand)
        if operand is None:
            return None
        if isinstance(node.op, ast.Not):
            if operand.type is not T.BOOL:
                self.fail(
                    RuleErrorCode.TYPE, f"not 后面必须是是非判断，「{operand.src}」是{TYPE_WORDS[operand.type]}", node
                )
                return None
            return self.make("not", T.BOOL, node, (operand,))
        if isinstance(node.op, ast.USub | ast.UAdd):
            if operand.type is not T.NUMBER:
                self.fail(
                    RuleErrorCode.TYPE, f"正负号只能用于数值，「{operand.src}」是{TYPE_WORDS[operand.type]}", node
                )
                return None
            if isinstance(node.op, ast.UAdd):
                return operand
            if operand.op == "const":
                return self.make("const", T.NUMBER, node, value=-operand.value)
            return self.make("neg", T.NUMBER, node, (operand,))
        self.fail(RuleErrorCode.FORBIDDEN, "不支持按位取反 ~", node)
        return None

    def visit_BinOp(self, node):
        op = BIN_OPS.get(type(node.op))
        if op is None:
            what = FORBIDDEN_OPS.get(type(node.op), type(node.op).__name__)
            self.fail(RuleErrorCode.FORBIDDEN, f"不支持的运算「{self.segment(node)}」：{what}", node)
            return None
        left, right = self.visit(node.left), self.visit(node.right)
        if left is None or right is None:
            return None
        for side in (left, right):
            if side.type is not T.NUMBER:
                self.fail(
                    RuleErrorCode.TYPE,
                    f"「{side.src}」是{TYPE_WORDS[side.type]}，不能参与算术运算 {BIN_WORDS[op]}",
                    node,
                )
                return None
        return self.make(op, T.NUMBER, node, (left, right))

    def visit_IfExp(self, node):
        test, body, orelse = self.visit(node.test), self.visit(node.body), self.visit(node.orelse)
        if test is None or body is None or orelse is None:
            return None
        if test.type is not T.BOOL:
            self.fail(RuleErrorCode.TYPE, f"if 后面必须是是非判断，「{test.src}」是{TYPE_WORDS[test.type]}", node)
            return None
        if body.type != orelse.type or body.type is T.LIST:
            self.fail(
                RuleErrorCode.TYPE,
                f"“x if 条件 else y”的两个结果类型必须一致：「{body.src}」是{TYPE_WORDS[body.type]}，"
                f"「{orelse.src}」是{TYPE_WORDS[orelse.type]}",
                node,
            )
            return None
        enum = body.enum_fact if body.enum_fact == orelse.enum_fact else None
        return self.make("if", body.type, node, (test, body, orelse), enum_fact=enum)

    def visit_List(self, node):
        self.fail(RuleErrorCode.FORBIDDEN, f"列表「{self.segment(node)}」只能写在 in / not in 的右边", node)
        return None

    visit_Tuple = visit_List

    def list_literal(self, node) -> Node | None:
        items = []
        for elt in node.elts:
            if isinstance(elt, ast.UnaryOp) and isinstance(elt.op, ast.USub) and isinstance(elt.operand, ast.Constant):
                item = self.visit(elt)
            elif isinstance(elt, ast.Constant):
                item = self.visit_Constant(elt)
            else:
                self.fail(RuleErrorCode.FORBIDDEN, f"列表里只能写数字或文字常量，「{self.segment(elt)}」不行", elt)
                return None
            if item is None:
                return None
            items.append(item)
        if not items:
            self.fail(RuleErrorCode.FORBIDDEN, "in 右边的列表不能为空", node)
            return None
        kinds = {i.type for i in items}
        if len(kinds) != 1 or kinds & {T.BOOL}:
            self.fail(RuleErrorCode.TYPE, f"列表「{self.segment(node)}」里的值必须同为数字或同为文字", node)
            return None
        return self.make("const", T.LIST, node, value=tuple(i.value for i in items), item_type=kinds.pop())

    def visit_Compare(self, node):
        left = self.visit(node.left)
        if left is None:
            return None
        parts = []
        for op_node, comparator in zip(node.ops, node.comparators, strict=True):
            if isinstance(op_node, ast.In | ast.NotIn):
                if isinstance(comparator, ast.List | ast.Tuple):
                    right = self.list_literal(comparator)
                else:
                    right = self.visit(comparator)
                if right is None:
                    return None
                if right.type is not T.LIST:
                    self.fail(
                        RuleErrorCode.TYPE, f"in 的右边必须是列表，「{right.src}」是{TYPE_WORDS[right.type]}", node
                    )
                    return None
                if left.type not in (T.NUMBER, T.TEXT) or left.type != right.item_type:
                    self.fail(
                        RuleErrorCode.TYPE,
                        f"「{left.src}」是{TYPE_WORDS[left.type]}，不能在{TYPE_WORDS[right.item_type]}列表"
                        f"「{right.src}」中查找",
                        node,
                    )
                    return None
                if right.op == "const" and left.enum_fact:
                    for v in right.value:
                        self.check_choice(left.enum_fact, v, node)
                negate = isinstance(op_node, ast.NotIn)
                src = f"{left.src} {'not in' if negate else 'in'} {right.src}"
                cmp = self.make("in", T.BOOL, node, (left, right), value=negate)
                cmp.src = src
            elif type(op_node) in CMP_OPS:
                right = self.visit(comparator)
                if right is None:
                    return None
                sym = CMP_OPS[type(op_node)]
                if left.type != right.type or left.type is T.LIST:
                    self.fail(
                        RuleErrorCode.TYPE,
                        f"不能比较{TYPE_WORDS[left.type]}「{left.src}」和{TYPE_WORDS[right.type]}「{right.src}」",
                        node,
                    )
                    return None
                if left.type in (T.TEXT, T.BOOL) and sym not in ("==", "!="):
                    self.fail(RuleErrorCode.TYPE, f"{TYPE_WORDS[left.type]}只能用 == 或 != 比较", node)
                    return None
                for a, b in ((left, right), (right, left)):
                    if a.enum_fact and b.op == "const":
                        self.check_choice(a.enum_fact, b.value, node)
                cmp = self.make("cmp", T.BOOL, node, (left, right), value=sym)
                cmp.src = f"{left.src} {sym} {right.src}"
            else:
                self.fail(RuleErrorCode.FORBIDDEN, "不支持 is / is not，请用 == 或 !=", node)
                return None
            parts.append(cmp)
            left = right
        if len(parts) == 1:
            return parts[0]
        return self.make("and", T.BOOL, node, parts)

    def check_choice(self, fact_name: str, value, node):
        fact = self.scope.catalogue[fact_name]
        if value not in fact.choices:
            options = "、".join(f"{code}（{label}）" for code, label in fact.choices.items())
            self.fail(RuleErrorCode.BAD_VALUE, f"{fact.describe()}没有取值「{value}」，可选：{options}", node)


def _syntax_reason(exc: SyntaxError) -> str:
    msg = (exc.msg or "").lower()
    if "never closed" in msg or "unexpected eof" in msg or "was not closed" in msg:
        return "括号没有配对"
    if "unterminated string" in msg:
        return "引号没有配对"
    if "invalid character" in msg:
        return "含有无法识别的字符（请使用英文半角符号，如 ( ) < = ,）"
    if "assign" in msg or "maybe you meant '=='" in msg:
        return "比较相等请写 ==，不能写 ="
    if "perhaps you forgot a comma" in msg:
        return "两个值之间缺少运算符或逗号"
    return "无法识别的写法"


# ---- describing a node in words, for traces ------------------------------------------------------------------


def describe(node: Node, scope: Scope) -> str:
    """A Chinese rendering of a node: facts and parameters by their labels."""
    op = node.op
    if op == "const":
        v = node.value
        if node.type is T.BOOL:
            return "是" if v else "否"
        if node.type is T.LIST:
            return "［" + "、".join(str(display_value(x)) for x in v) + "］"
        return str(display_value(v))
    if op == "fact":
        return scope.catalogue[node.value].label
    if op == "param":
        param = scope.parameter(node.value)
        return param.label if param else node.value
    if op == "builtin":
        return BUILTINS[node.value][1]
    if op in BIN_WORDS:
        return f"（{describe(node.args[0], scope)} {BIN_WORDS[op]} {describe(node.args[1], scope)}）"
    if op == "neg":
        return f"−{describe(node.args[0], scope)}"
    if op == "cmp":
        return f"{describe(node.args[0], scope)} {CMP_WORDS[node.value]} {describe(node.args[1], scope)}"
    if op == "in":
        word = "不属于" if node.value else "属于"
        return f"{describe(node.args[0], scope)} {word} {describe(node.args[1], scope)}"
    if op == "and":
        return " 并且 ".join(describe(a, scope) for a in node.args)
    if op == "or":
        return " 或者 ".join(describe(a, scope) for a in node.args)
    if op == "not":
        return f"并非（{describe(node.args[0], scope)}）"
    if op == "if":
        c, x, y = node.args
        return f"（若 {describe(c, scope)} 则 {describe(x, scope)}，否则 {describe(y, scope)}）"
    names = {"min": "取小", "max": "取大", "abs": "绝对值", "fen": "四舍五入到分", "coalesce": "首个已知值"}
    return f"{names.get(op, op)}（" + "，".join(describe(a, scope) for a in node.args) + "）"
