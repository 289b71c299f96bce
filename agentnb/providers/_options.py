"""Checks that a request asks only for what a dialect can send.

An option a dialect has no field for is an error before any I/O, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .._core.approvals import ApprovalDecision
from .._core.exceptions import UnsupportedOptionError
from .._core.request import ModelSettings, RunRequest

__all__ = [
    "ALL_SETTINGS",
    "carried",
    "decision_value",
    "metadata_with_followups",
    "reject_unsupported",
    "requested_options",
]

ALL_SETTINGS = frozenset(ModelSettings.model_fields)


def metadata_with_followups(request: RunRequest) -> dict[str, str]:
    """The request's metadata, plus ``followups: "true"`` when follow-ups were asked for.

    For dialects with no follow-up field of their own: metadata is free-form, so the key is
    harmless where it is not understood, and servers that offer follow-ups read it there.
    """
    metadata = dict(request.metadata)
    if request.followups:
        metadata.setdefault("followups", "true")
    return metadata


def decision_value(decision: ApprovalDecision, *, is_question: bool) -> Any:
    """What resumes an interrupt (AG-UI, LangGraph): a question's answer as it is; otherwise
    the decision as ``{approved, reason}``."""
    if is_question and decision.answer is not None:
        return decision.answer
    value: dict[str, Any] = {"approved": decision.approved}
    if decision.reason:
        value["reason"] = decision.reason
    return value


def carried(*features: str, settings: Collection[str] = ALL_SETTINGS) -> frozenset[str]:
    """A dialect's :attr:`~agentnb.providers.Provider.carries`: its model ``settings`` (all
    by default) and the ``features`` it has a field for."""
    return frozenset(settings) | frozenset(features)


def requested_options(request: RunRequest) -> set[str]:
    """The options ``request`` asks for, by the names :attr:`Provider.carries` uses."""
    settings = request.model_settings
    asked = set(settings.as_dict()) if settings.model_fields_set else set()  # most set none
    return asked | _requested_features(request)


def _requested_features(request: RunRequest) -> set[str]:
    asked = {
        "response_format": request.response_format is not None,
        "metadata": bool(request.metadata),
        "followups": request.followups,
        "media": bool(request.media),
        "team_id": request.team_id is not None,
        "user_id": request.user_id is not None,
        "org_id": request.org_id is not None,
        "tools": bool(request.tools),
        "config": bool(request.config),
    }
    return {name for name, wanted in asked.items() if wanted}


def reject_unsupported(
    request: RunRequest, name: str, title: str, carries: Collection[str]
) -> None:
    """Raise :class:`UnsupportedOptionError` naming every option dialect ``name`` (``title``
    to people) cannot send."""
    problems = sorted(requested_options(request).difference(carries))
    if not problems:
        return
    supported = sorted(carries)
    raise UnsupportedOptionError(
        f"{title} does not support {', '.join(problems)}; "
        f"it supports {', '.join(supported) or 'no options'}",
        options=problems,
        supported=supported,
        dialect=name,
    )
