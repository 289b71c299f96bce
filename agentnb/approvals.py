"""Tool calls that wait for a person, and the policies that decide them (``approve=``).

- ``ApprovalPolicy``: what ``approve=`` takes (``True``, ``False``, ``None`` or an ``Approver``).
- ``Approver``: a function given a waiting ``ToolCall`` that returns a decision.
- ``ApprovalDecision``: a decision with a reason (or an answer to a question).
- ``ApprovalGate``: what applies a policy to a run's waiting calls.
- ``QuestionReply``: the reply to a question a running call asks a person (an MCP server's
  form or link: ``call.asks``); an approver with an ``answer_question(call)`` method
  (``QuestionAnswerer``) is asked it first.
- ``ToolApproval``: a call's approval state (``ToolCall.approval``); ``CallVersion``: one
  version of a call as the platform sent it (what was asked against what ran).
"""

from __future__ import annotations

from ._core.approvals import ApprovalDecision, ApprovalGate, ApprovalPolicy, Approver
from ._core.questions import QuestionAnswerer, QuestionReply
from ._core.run import CallVersion, ToolApproval

__all__ = [
    "ApprovalDecision",
    "ApprovalGate",
    "ApprovalPolicy",
    "Approver",
    "CallVersion",
    "QuestionAnswerer",
    "QuestionReply",
    "ToolApproval",
]
