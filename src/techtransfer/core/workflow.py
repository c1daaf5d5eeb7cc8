"""The review workflow shared by every registry.

draft ─submit→ submitted ─approve→ approved ─publish→ published ─withdraw→ withdrawn
                    └──return (comment)→ returned ─submit→ submitted        (withdrawn ─submit→ …)
"""

from dataclasses import dataclass

from .choices import RecordStatus as S
from .choices import WorkflowAction as A


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset
    target: str
    by: str  # "editor": the record's owners; "reviewer": region and platform administrators; "either"
    needs_comment: bool = False


TRANSITIONS = {
    A.SUBMIT: Transition(A.SUBMIT, frozenset({S.DRAFT, S.RETURNED, S.WITHDRAWN}), S.SUBMITTED, "editor"),
    A.APPROVE: Transition(A.APPROVE, frozenset({S.SUBMITTED}), S.APPROVED, "reviewer"),
    A.RETURN: Transition(A.RETURN, frozenset({S.SUBMITTED}), S.RETURNED, "reviewer", needs_comment=True),
    A.PUBLISH: Transition(A.PUBLISH, frozenset({S.APPROVED}), S.PUBLISHED, "either"),
    A.WITHDRAW: Transition(A.WITHDRAW, frozenset({S.PUBLISHED}), S.WITHDRAWN, "either"),
}

# Content may change only while nobody is reviewing it and it is not on show.
EDITABLE_STATES = frozenset({S.DRAFT, S.RETURNED, S.WITHDRAWN})


def available_actions(*, status: str, is_editor: bool, is_reviewer: bool) -> list[str]:
    allowed = []
    for action, t in TRANSITIONS.items():
        if status not in t.sources:
            continue
        if (
            (t.by == "editor" and is_editor)
            or (t.by == "reviewer" and is_reviewer)
            or (t.by == "either" and (is_editor or is_reviewer))
        ):
            allowed.append(str(action))
    return allowed
