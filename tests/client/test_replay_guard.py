"""ReplayGuard on its own: which frames of a resumed response are applied (the streams that
reach it from hostile servers are in test_hostile*.py)."""

from __future__ import annotations

import pytest

from agentnb._client.replay import ReplayGuard, ReplayMismatch
from agentnb.sse import ServerSentEvent


def frames(*datas: str, ids: bool = True) -> list[ServerSentEvent]:
    return [ServerSentEvent(data=data, id=f"r:{n}" if ids else "") for n, data in enumerate(datas)]


def admitted(guard: ReplayGuard, sses: list[ServerSentEvent]) -> list[str]:
    return [sse.data for sse in sses if guard.admit(sse)]


def test_without_a_resume_every_frame_is_applied_even_a_repeated_one() -> None:
    guard = ReplayGuard()
    assert admitted(guard, frames("a", "b", "a", "a")) == ["a", "b", "a", "a"]


def test_a_server_restarting_at_a_seen_id_is_skipped_up_to_what_was_applied() -> None:
    guard = ReplayGuard()
    sent = frames("a", "b", "c", "d")
    assert admitted(guard, sent[:3]) == ["a", "b", "c"]
    guard.resumed()
    assert admitted(guard, sent[1:]) == ["d"]
    assert admitted(guard, frames("e")) == ["e"]  # no resume pending: applied


def test_a_different_frame_under_a_seen_id_is_another_answer() -> None:
    guard = ReplayGuard()
    admitted(guard, frames("a", "b", "c"))
    guard.resumed()
    with pytest.raises(ReplayMismatch, match="frame 2 of 3 differs"):
        admitted(guard, frames("a", "X", "c"))


def test_an_unseen_id_continues_where_it_should() -> None:
    guard = ReplayGuard()
    admitted(guard, frames("a", "b"))
    guard.resumed()
    assert admitted(guard, [ServerSentEvent(data="a", id="r:9")]) == ["a"]


def test_without_ids_equal_frames_are_skipped_until_the_first_that_differs() -> None:
    guard = ReplayGuard()
    admitted(guard, frames("a", "b", "c", ids=False))
    guard.resumed()
    assert admitted(guard, frames("a", "b", "X", "c", ids=False)) == ["X", "c"]


def test_a_non_strict_resume_applies_a_divergence_from_there_on() -> None:
    guard = ReplayGuard()
    admitted(guard, frames("a", "b", "c"))
    guard.resumed(strict=False)
    assert admitted(guard, frames("a", "X", "c")) == ["X", "c"]


@pytest.mark.parametrize("strict", [True, False])
def test_a_replay_from_the_start_must_match_when_strict(strict: bool) -> None:
    guard = ReplayGuard()
    admitted(guard, frames("a", "b"))
    guard.resumed(strict=strict, from_start=True)
    renumbered = [ServerSentEvent(data=d, id=f"new:{n}") for n, d in enumerate(["a", "X"])]
    if strict:
        with pytest.raises(ReplayMismatch):
            admitted(guard, renumbered)
    else:
        assert admitted(guard, renumbered) == ["X"]
