"""Chinese patent numbers.

Accepted forms:
- application numbers (申请号/专利号), optionally prefixed ``ZL`` or ``CN``: 12 digits since 2003
  (``202310123456.7``) or 8 digits before (``99123456.X``), with the CNIPA check character after
  the (optional) dot (digits weighted 2,3,4,5,6,7,8,9 repeating, sum mod 11, 10 written ``X``);
- publication and grant numbers: ``CN`` + 9 digits + kind code (``A``, ``B``, ``C``, ``U``, ``Y``, ``S``)
  with an optional digit, such as ``CN112345678A`` or ``CN214567890U``.
"""

import re

APPLICATION = re.compile(r"^(?:ZL|CN)?(\d{8}|\d{12})\.?([0-9X])$")
PUBLICATION = re.compile(r"^CN\d{9}[ABCUYS]\d?$")
WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9)


def check_character(digits: str) -> str:
    total = sum(int(d) * WEIGHTS[i % 8] for i, d in enumerate(digits))
    rest = total % 11
    return "X" if rest == 10 else str(rest)


def normalize(number: str) -> str:
    return re.sub(r"\s+", "", number).upper().replace("。", ".")


def problem(number: str) -> str | None:
    """Why ``number`` is not a valid Chinese patent number, in Chinese; ``None`` if it is."""
    value = normalize(number)
    if PUBLICATION.match(value):
        return None
    match = APPLICATION.match(value)
    if not match:
        return f"专利号格式不正确：{number}（应如 ZL202310123456.7 或 CN112345678A）"
    digits, check = match.groups()
    kind = digits[2] if len(digits) == 8 else digits[4]
    if kind not in "12389":  # 1 invention, 2 utility model, 3 design, 8/9 PCT entries
        return f"专利号类型位不正确：{number}"
    expected = check_character(digits)
    if check != expected:
        return f"专利号校验位错误：{number}（校验位应为 {expected}）"
    return None
