"""Errors of the rules engine: a code for programs, a Chinese message for people.

The shape matches ``core.errors.ServiceError`` (code, message, details = {field: [messages]}) so that the
Django side can turn one into the other without knowing the engine's internals; this module imports no Django.
"""

from enum import StrEnum


class RuleErrorCode(StrEnum):
    SYNTAX = "syntax"  # the text is not an expression
    FORBIDDEN = "forbidden"  # a construct outside the whitelisted language
    UNKNOWN_FACT = "unknown_fact"
    UNKNOWN_PARAMETER = "unknown_parameter"
    UNKNOWN_FUNCTION = "unknown_function"
    TYPE = "type"  # wrong type of operand or result
    BAD_VALUE = "bad_value"  # a fact or parameter value of the wrong kind
    BAD_RULE = "bad_rule"  # a malformed library entry (dates, missing keys, overlaps)
    NOT_IN_FORCE = "not_in_force"  # no version of the clause or parameter on that date
    UNKNOWN_CLAUSE = "unknown_clause"


LABELS = {
    RuleErrorCode.SYNTAX: "表达式有语法错误",
    RuleErrorCode.FORBIDDEN: "表达式使用了不允许的写法",
    RuleErrorCode.UNKNOWN_FACT: "表达式引用了未知的事实",
    RuleErrorCode.UNKNOWN_PARAMETER: "表达式引用了未知的参数",
    RuleErrorCode.UNKNOWN_FUNCTION: "表达式调用了不支持的函数",
    RuleErrorCode.TYPE: "表达式的类型不正确",
    RuleErrorCode.BAD_VALUE: "数据不符合要求",
    RuleErrorCode.BAD_RULE: "政策规则不符合要求",
    RuleErrorCode.NOT_IN_FORCE: "该日期没有生效的规则",
    RuleErrorCode.UNKNOWN_CLAUSE: "未找到该政策条款",
}


class RuleError(Exception):
    """A refused rule, expression or input; ``details`` maps a field to its Chinese messages."""

    def __init__(self, code: RuleErrorCode, message: str | None = None, details: dict | None = None):
        self.code = RuleErrorCode(code)
        self.details = {k: list(v) for k, v in (details or {}).items()}
        if message is None:
            first = next((m for msgs in self.details.values() for m in msgs), None)
            message = first or LABELS[self.code]
        self.message = message
        super().__init__(message)

    def as_dict(self) -> dict:
        return {"code": str(self.code), "message": self.message, "details": self.details}


class ErrorCollector:
    """Gathers every problem of one check so that staff see all of them at once, then raises."""

    def __init__(self):
        self.items: list[tuple[RuleErrorCode, str, str]] = []

    def add(self, code: RuleErrorCode, field: str, message: str) -> None:
        self.items.append((RuleErrorCode(code), field, message))

    def extend(self, error: RuleError, prefix: str = "") -> None:
        for field, messages in error.details.items():
            for message in messages:
                self.add(error.code, f"{prefix}{field}" if prefix else field, message)

    def raise_if_any(self, message: str | None = None) -> None:
        if not self.items:
            return
        details: dict[str, list[str]] = {}
        for _code, field, msg in self.items:
            details.setdefault(field, []).append(msg)
        code = self.items[0][0]
        if message is None and len(self.items) > 1:
            message = f"{LABELS[code]}（共 {len(self.items)} 处问题）：{self.items[0][2]}"
        raise RuleError(code, message, details)
