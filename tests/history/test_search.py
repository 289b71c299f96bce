"""Full-text search of the history (``runs(search=...)``, ``agentnb runs --search``): what it
finds, in what order, with which snippet; what users type never reaches FTS5 as syntax; a
file from before the search index gets one holding its old runs."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import cli_in_process

import agentnb
from agentnb._core.exceptions import ConfigurationError
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._history import MIGRATIONS, HistoryError, close_default_stores
from agentnb._history._migrations import apply_migrations
from agentnb._history._run_filter import RunFilter, matched_rows, ranked_ids_sql, search_query
from agentnb.events import RunCompleted, RunStarted, TextDelta, ToolCallFinished, ToolCallStarted
from agentnb.history import HistoryStore

BEFORE_SEARCH = [m.__name__ for m in MIGRATIONS].index("m007_search")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def make_run(
    message: str,
    answer: str,
    *,
    agent: str = "analyst",
    reasoning: str = "",
    tools: tuple[tuple[str, Any], ...] = (),
    started: float | None = None,
) -> Run:
    run = Run(agent=agent, message=message, provider="operativus", connection="default")
    at = time.time() if started is None else started
    run.start(at)
    run.apply(RunStarted(run_id=f"r-{run.local_id[:8]}", received_at=at))
    for i, (name, arguments) in enumerate(tools):
        run.apply(ToolCallStarted(call_id=f"c{i}", name=name, arguments=arguments, received_at=at))
        run.apply(ToolCallFinished(call_id=f"c{i}", output="ok", received_at=at))
    if reasoning:
        from agentnb.events import ReasoningDelta

        run.apply(ReasoningDelta(delta=reasoning, received_at=at))
    run.apply(TextDelta(delta=answer, received_at=at))
    run.apply(RunCompleted(received_at=at + 1))
    return run


def record(store: HistoryStore, *runs: Run) -> list[str]:
    for run in runs:
        store.record(run, RunRequest(agent=run.agent, message=run.message), base_url="")
    return [run.local_id for run in runs]


def found(store: HistoryStore, text: str, **filters: Any) -> list[str]:
    return store.runs(RunFilter.build(search=text, **filters)).local_ids


def test_each_field_is_searched_and_the_snippet_shows_the_match(store: HistoryStore) -> None:
    question, answer, reasoning, tool = record(
        store,
        make_run("Where is NVDA heading?", "Up."),
        make_run("Markets?", "Tesla reported earnings above guidance."),
        make_run("Think", "Done.", reasoning="first compare the dividend yields"),
        make_run("Quote", "Here.", tools=(("get_quote", {"symbol": "ORCL"}),)),
    )
    assert found(store, "nvda") == [question]
    assert found(store, "earnings guidance") == [answer]
    assert found(store, "dividend") == [reasoning]
    assert found(store, "ORCL") == [tool]
    assert found(store, "get_quote") == [tool]  # the tool's name
    history = store.runs(RunFilter.build(search="earnings"))
    assert history.column("snippet") == ["Tesla reported «earnings» above guidance."]
    frame = history.to_pandas()
    assert list(frame.columns)[-1] == "snippet"
    assert frame["snippet"].tolist() == ["Tesla reported «earnings» above guidance."]
    assert "«earnings»" in history.to_text()
    assert history[0].local_id == answer  # records stay RunRecords


def test_every_word_must_occur_in_any_order_and_case(store: HistoryStore) -> None:
    both, one = record(
        store,
        make_run("NVDA earnings call", "fine"),
        make_run("NVDA price", "fine"),
    )
    assert found(store, "EARNINGS nvda") == [both]
    assert set(found(store, "nvda")) == {both, one}
    assert found(store, "earn*") == [both]
    assert found(store, "nvda missingword") == []


def test_best_match_first(store: HistoryStore) -> None:
    now = time.time()
    weak, strong = record(
        store,
        make_run("a long question " + "filler " * 60 + "about NVDA", "x", started=now),
        make_run("NVDA NVDA NVDA", "NVDA", started=now - 3600),
    )
    assert found(store, "nvda") == [strong, weak]  # by bm25, not by time


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("café résumé", "café résumé"),
        ("CAFE", "CAFE"),
        ("财报", "财报"),
        ("株価*", "株価*"),
    ],
)
def test_unicode_words(store: HistoryStore, text: str, query: str) -> None:
    (run,) = record(
        store, make_run("Comment va le café ? 英伟达 财报 株価は 🚀 launch", "résumé ready")
    )
    other = record(store, make_run("unrelated", "nothing"))
    assert found(store, query) == [run], text
    assert other


def test_emoji_neither_fails_nor_hides_the_words_around_it(store: HistoryStore) -> None:
    (run,) = record(store, make_run("rocket 🚀launch day", "🎉done"))
    assert found(store, "🚀") == []  # the index holds letters and digits
    assert found(store, "🚀launch") == [run]
    assert found(store, "launch 🚀") == [run]
    assert found(store, "done") == [run]


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '""',
        "*",
        "-",
        "AND",
        "OR",
        "NOT",
        "NEAR(",
        "NEAR(a b",
        "a:b",
        "(",
        ")",
        "^",
        "+",
        "{col}",
        "message:NVDA",
        "'",
        "\\",
        "NVDA AND",
        "- NVDA",
        '"NVDA',
        "NVDA*)",
        "**",
        "a\x00b",
    ],
)
def test_punctuation_and_fts5_words_are_plain_text(store: HistoryStore, text: str) -> None:
    record(store, make_run("NVDA and the near future: a/b (c) message", "fine"))
    store.runs(RunFilter.build(search=text))  # no FTS5 syntax error, whatever it is


def test_fts5_words_and_quotes_match_as_words(store: HistoryStore) -> None:
    (run,) = record(store, make_run('He said "buy" and NOT near-term; NVDA\'s margin', "ok"))
    assert found(store, "AND") == [run]
    assert found(store, "NOT") == [run]
    assert found(store, "NEAR(") == [run]
    assert found(store, '"buy"') == [run]
    assert found(store, "near-term") == [run]
    assert found(store, "NVDA's") == [run]
    assert found(store, "NVDA -") == [run]  # a lone dash asks for nothing
    assert found(store, "*") == []


def test_search_query_quotes_every_word() -> None:
    assert search_query('NEAR( "x" a*b*') == '"NEAR(" """x""" "a*b"*'
    assert search_query("*") == '""'


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_search_is_a_clear_error(text: str) -> None:
    with pytest.raises(ConfigurationError, match="search is empty"):
        RunFilter.build(search=text)


def test_search_must_be_text() -> None:
    with pytest.raises(ConfigurationError, match="search must be text"):
        RunFilter.build(search=42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="lone surrogate"):
        RunFilter.build(search="bad \ud800")


def test_search_combines_with_the_other_filters(store: HistoryStore) -> None:
    now = time.time()
    old, mine, theirs, unrelated = record(
        store,
        make_run("NVDA earnings", "old", agent="analyst", started=now - 10 * 86400),
        make_run("NVDA earnings", "new", agent="analyst", started=now - 60),
        make_run("NVDA earnings", "new", agent="trader", started=now - 60),
        make_run("weather", "sunny", agent="analyst", started=now - 60),
    )
    assert set(found(store, "nvda")) == {old, mine, theirs}
    assert found(store, "nvda", agent="analyst", since=timedelta(days=1)) == [mine]
    assert set(found(store, "nvda", since=timedelta(days=1))) == {mine, theirs}
    assert found(store, "nvda", agent=["trader"], status="completed") == [theirs]
    assert found(store, "nvda", status="failed") == []
    assert len(found(store, "nvda", limit=2)) == 2
    assert unrelated not in found(store, "weather nvda")


def test_a_search_ranks_the_most_recent_matches_first(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SEARCH_CANDIDATES latest matches come first, best first; the older ones after
    them, best first (so a common word in a million runs is not ranked a million times to
    show its first rows). With fewer matches than that, every match is ranked together."""
    now = time.time()
    strongest, *recent = record(
        store,
        make_run("NVDA NVDA NVDA", "NVDA", started=now - 3600),
        *(make_run(f"question {i} " + "filler " * 30 + "NVDA", "x", started=now) for i in range(3)),
    )
    assert found(store, "nvda")[0] == strongest  # fewer matches than candidates
    assert found(store, "nvda", limit=2)[0] == strongest
    monkeypatch.setattr("agentnb._history._run_filter.SEARCH_CANDIDATES", 3)
    everything = found(store, "nvda")
    assert set(everything[:3]) == set(recent) and everything[3] == strongest
    assert len(everything) == 4


def test_a_limit_keeps_the_first_of_the_same_order(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """runs(search=..., limit=n) is runs(search=...)[:n] for every n: one order, however
    many are asked for (it used to rank the latest matches with a limit, all without)."""
    now = time.time()
    record(
        store,
        *(
            make_run("NVDA " * (1 + i % 4) + "filler " * (i % 7), f"answer {i}", started=now - i)
            for i in range(12)
        ),
    )
    for candidates in (3, 5, 2000):
        monkeypatch.setattr("agentnb._history._run_filter.SEARCH_CANDIDATES", candidates)
        everything = found(store, "nvda")
        assert len(everything) == 12
        for n in range(1, 14):
            assert found(store, "nvda", limit=n) == everything[:n], (candidates, n)


def test_a_run_is_found_once_it_stops_running(store: HistoryStore) -> None:
    """Indexed once, when it ends: not at its start and every checkpoint (that tripled the
    writer thread's CPU per run)."""
    run = Run(agent="analyst", message="first question")
    run.start()
    store.record_start(run, RunRequest(agent="analyst", message=run.message), base_url="")
    run.apply(TextDelta(delta="partial PLTR answer", received_at=time.time()))
    store.record_progress(run)
    assert found(store, "first question") == []
    run.apply(ToolCallStarted(call_id="c", name="lookup", arguments={"q": "zebra"}))
    run.apply(TextDelta(delta=" and more", received_at=time.time()))
    run.apply(RunCompleted(received_at=time.time()))
    store.record_end(run)
    assert found(store, "first question") == [run.local_id]
    assert found(store, "zebra") == [run.local_id]
    assert found(store, "pltr more") == [run.local_id]
    store.record_cancel_error(run)  # written again: the index follows, without duplicates
    assert found(store, "zebra lookup") == [run.local_id]


def test_an_interrupted_run_is_found(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    run = Run(agent="analyst", message="kept question")
    run.start()
    store.record_start(run, RunRequest(agent="analyst", message=run.message), base_url="")
    run.apply(TextDelta(delta="partial GOOG answer", received_at=time.time()))
    store.record_progress(run)
    store.close()  # the process "exits" mid-run
    with HistoryStore(path) as reopened:
        assert reopened.get(run.local_id).status == "interrupted"  # type: ignore[union-attr]
        assert found(reopened, "goog kept") == [run.local_id]


def test_the_index_has_one_row_per_stopped_run(store: HistoryStore) -> None:
    record(store, make_run("a", "b"), make_run("c", "d", tools=(("t", {"x": 1}),)))
    db = sqlite3.connect(store.path)  # type: ignore[arg-type]
    try:
        indexed = db.execute("SELECT COUNT(*) FROM runs_search").fetchone()[0]
    finally:
        db.close()
    assert indexed == store.count() == 2


def test_a_file_from_before_search_is_indexed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    apply_migrations(db, MIGRATIONS[:BEFORE_SEARCH])
    for i, (message, tool_arguments) in enumerate(
        [("old NVDA question", '{"symbol": "AMD"}'), ("old weather question", None)]
    ):
        db.execute(
            "INSERT INTO runs (local_id, message, answer, status, started_at) "
            "VALUES (?, ?, 'an old answer', 'completed', ?)",
            (f"old-{i}", message, 1_700_000_000 + i),
        )
        if tool_arguments:
            db.execute(
                "INSERT INTO tool_calls (local_id, position, call_id, name, arguments) "
                "VALUES (?, 0, 'c', 'get_quote', ?)",
                (f"old-{i}", tool_arguments),
            )
    db.close()
    with HistoryStore(path) as store:
        assert "m007_search" in store.migrations()  # applied on opening, with any later one
        assert found(store, "nvda") == ["old-0"]
        assert found(store, "amd") == ["old-0"]
        assert set(found(store, "old answer")) == {"old-0", "old-1"}
        (new,) = record(store, make_run("new NVDA question", "fresh"))
        assert set(found(store, "nvda")) == {"old-0", new}


def test_a_file_without_the_index_says_why(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    HistoryStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)  # as a SQLite without FTS5 leaves it
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'runs_search%'"
    ).fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE runs_search")
    db.execute("DROP TABLE runs_search_pending")
    db.execute("DROP VIEW runs_search_text")
    db.close()
    with HistoryStore(path) as store:
        record(store, make_run("still recorded", "yes"))
        assert store.count() == 1
        with pytest.raises(HistoryError, match="without FTS5"):
            store.runs(RunFilter.build(search="recorded"))


def test_runs_takes_search(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "default.sqlite3"))
    close_default_stores()
    try:
        with HistoryStore(tmp_path / "default.sqlite3") as store:
            (run,) = record(store, make_run("NVDA earnings", "beat"))
            record(store, make_run("weather", "rain"))
        history = agentnb.runs(search="NVDA earnings", agent="analyst")
        assert history.local_ids == [run]
        assert history.column("snippet") == ["«NVDA» «earnings»"]
    finally:
        close_default_stores()


def cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return cli_in_process("runs", "--db", str(db), *args, env={"NO_COLOR": "1"})


def test_the_cli_searches(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with HistoryStore(db) as store:
        (nvda,) = record(store, make_run("NVDA earnings?", "beat by 5 cents", agent="analyst"))
        record(store, make_run("NVDA price?", "875", agent="trader"))
        record(store, make_run("weather", "rain", agent="analyst"))
    done = cli("--search", "earnings NVDA", db=db)
    assert done.returncode == 0, done.stderr
    assert "«NVDA» «earnings»?" in done.stdout
    assert "1 run, best match first" in done.stderr
    done = cli("--search", "nvda", "--agent", "analyst", "--json", db=db)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [row["local_id"] for row in rows] == [nvda]
    assert rows[0]["snippet"] == "«NVDA» earnings?"
    for hostile in ["NEAR(", '"', "AND OR", "-"]:
        done = cli("--search", hostile, db=db)
        assert done.returncode == 0, (hostile, done.stderr)
    done = cli("--search", "  ", db=db)
    assert done.returncode == 2
    assert "search is empty" in done.stderr
    assert "Traceback" not in done.stderr


def _search_index_problems(path: Path) -> list[str]:
    """What keeps the index from holding exactly the stopped runs' text as ``runs`` has it
    (FTS5's integrity check against its content), and any copy of the text of its own."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("INSERT INTO runs_search (runs_search, rank) VALUES ('integrity-check', 1)")
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()
    return sorted(tables & {"runs_search_content"})


def test_the_index_keeps_no_copy_and_follows_a_runs_whole_life(store: HistoryStore) -> None:
    path = Path(str(store.path))
    run = Run(agent="analyst", message="life question")
    run.start()
    store.record_start(run, RunRequest(agent="analyst", message=run.message), base_url="")
    run.apply(TextDelta(delta="partial HOOD answer", received_at=time.time()))
    store.record_progress(run)
    run.apply(ToolCallStarted(call_id="c", name="lookup", arguments={"q": "okapi"}))
    run.apply(RunCompleted(received_at=time.time()))
    store.record_end(run)
    assert _search_index_problems(path) == [] and found(store, "okapi") == [run.local_id]
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for change in (
            'UPDATE tool_calls SET arguments = \'{"q": "tapir"}\'',
            "UPDATE runs SET status = 'running'",  # reopened (attached again)
            "UPDATE runs SET answer = 'whole HOOD answer', status = 'interrupted'",
            "DELETE FROM tool_calls",
            "UPDATE runs SET reasoning = 'thought'",
        ):
            db.execute(change)
            assert _search_index_problems(path) == [], change
    finally:
        db.close()
    assert found(store, "tapir") == [] and found(store, "whole thought") == [run.local_id]
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("DELETE FROM runs")
    finally:
        db.close()
    assert _search_index_problems(path) == [] and found(store, "hood") == []


def test_the_index_reading_the_runs_finds_what_its_copy_found(tmp_path: Path) -> None:
    """m023_search_reads_the_runs: a file indexed with its own copy of the text (as 0.4.0
    wrote it, its triggers indexing the runs added here), upgraded, gives every search the
    same runs in the same order, with the same snippets."""
    path = tmp_path / "h.sqlite3"
    shutil.copyfile(Path(__file__).parent / "data" / "history-0.4.0.sqlite3", path)
    db = sqlite3.connect(path, isolation_level=None)
    words = ["NVDA", "earnings", "beat", "weather", "rain", "AMD", "quote", "ÉCOLE", "株価"]
    for i in range(60):
        text = " ".join(words[(i * k) % len(words)] for k in (1, 3, 5, 7)[: 1 + i % 4])
        db.execute(
            "INSERT INTO runs (local_id, message, answer, reasoning, status, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (f"r{i:02d}", f"question {i} {text}", f"answer {text} " * (1 + i % 3),
             words[i % len(words)], "completed", 1e9 + i),
        )  # fmt: skip
        if i % 4 == 0:
            db.execute(
                "INSERT INTO tool_calls (local_id, position, call_id, name, arguments) "
                "VALUES (?, 0, 'c', 'get_quote', ?)",
                (f"r{i:02d}", json.dumps({"symbol": words[(i + 2) % len(words)]})),
            )
    queries = ["nvda", "earnings beat", "rain", "amd quote", "ecole", "株価", "get_quote", "be*"]

    def searches() -> list[list[tuple[Any, ...]]]:
        results = []
        for query in queries:
            search = search_query(query)
            sql, params = ranked_ids_sql(search, [], [], None)
            ids = [rowid for (rowid,) in db.execute(sql, params)]
            results.append(matched_rows(db.execute, search, ids, ["local_id"]))
        return results

    try:
        before = searches()
        apply_migrations(db)
        assert searches() == before
    finally:
        db.close()
    assert all(before) and len(before[0]) > 5
