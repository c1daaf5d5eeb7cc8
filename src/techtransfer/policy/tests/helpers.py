"""A small library built in code for tests of the language's semantics (not the shipped rules)."""

from techtransfer.policy.library import build_library

FACTS = {
    "facts": {
        "a": {"type": "int", "label": "甲（整数）", "entities": ["enterprise"]},
        "b": {"type": "money", "label": "乙（金额）", "unit": "元", "entities": ["enterprise"]},
        "c": {"type": "ratio", "label": "丙（比例）", "entities": ["enterprise"]},
        "d": {"type": "number", "label": "丁（数值）", "entities": ["enterprise"]},
        "e": {"type": "bool", "label": "戊（是否）", "entities": ["enterprise"]},
        "f": {"type": "bool", "label": "己（是否）", "entities": ["enterprise"]},
        "g": {
            "type": "enum",
            "label": "庚（选项）",
            "entities": ["enterprise"],
            "choices": {"x": "选项甲", "y": "选项乙", "z": "选项丙"},
        },
    }
}

SOURCE = {"article": "第一条", "quote": "测试用"}


def policy(clauses=(), parameters=None):
    return {
        "policy": {
            "id": "test",
            "title": "测试政策",
            "number": "测试〔2024〕1号",
            "level": "municipal",
            "valid_from": "2024-01-01",
        },
        "parameters": parameters
        or {
            "r": {"label": "比率", "values": [{"value": "0.3", "source": SOURCE}]},
            "k": {"label": "上限", "unit": "元", "values": [{"value": 100, "source": SOURCE}]},
            "l": {"label": "名单", "type": "list", "values": [{"value": ["x", "y"], "source": SOURCE}]},
        },
        "clauses": list(clauses),
    }


def clause(condition, amount=None, cap=None, cid="t.clause", **extra):
    data = {"id": cid, "title": "测试条款", "entity": "enterprise", "source": SOURCE, "condition": condition}
    if amount is not None:
        data["amount"] = amount
    if cap is not None:
        data["cap"] = cap
    data.update(extra)
    return data


def library(*clauses, parameters=None):
    from decimal import Decimal

    def fix(value):  # YAML would give Decimal; in code we write strings
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, str) and value.replace(".", "", 1).isdigit() and "." in value:
            return Decimal(value)
        return value

    return build_library([("facts.yaml", FACTS), ("test.yaml", fix(policy(clauses, parameters)))])
