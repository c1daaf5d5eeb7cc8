"""统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character."""

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, in Chinese, or ``None`` when it is."""
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位，实际 {len(code)} 位"
    bad = [c for c in code if c not in ALPHABET]
    if bad:
        return f"统一社会信用代码含有不允许的字符：{''.join(dict.fromkeys(bad))}"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：应为 {expected}，实际为 {code[17]}"
    return None


def is_valid(code: str) -> bool:
    return problem(code) is None
