"""How values appear in traces and messages: exact decimals as strings, never floats."""

from decimal import Decimal
from fractions import Fraction

FEN = Decimal("0.01")


def _terminating(den: int) -> bool:
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def display_number(value) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, int):
        return str(value)
    frac = Fraction(value)
    if frac.denominator == 1:
        return str(frac.numerator)
    if _terminating(frac.denominator):
        return format((Decimal(frac.numerator) / Decimal(frac.denominator)).normalize(), "f")
    approx = (Decimal(frac.numerator) / Decimal(frac.denominator)).quantize(Decimal("0.000001"))
    return f"≈{format(approx.normalize(), 'f')}"


def display_value(value):
    """JSON-friendly: numbers as strings, booleans and text as themselves, lists as lists, None as None."""
    if value is None or isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, tuple | list):
        return [display_value(v) for v in value]
    return display_number(value)


def fen_to_decimal(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)
