"""Chinese matching engine: normalization, analysis, hybrid (BM25 + embedding) retrieval, evaluation.

Framework-free: nothing in this package imports Django. The Django side calls :class:`Index`.
"""

from .index import Document, Explanation, Hit, Index
from .normalize import normalize

__all__ = ["Document", "Explanation", "Hit", "Index", "normalize"]
