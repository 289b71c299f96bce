"""Writes a small history file with evaluation's tables in use (a kept dataset, an
experiment on it with its evaluations, a person's verdicts and a kept agreement; from 0.8.0
on, an experiment run in working copies of its own, each run's change kept), with the
agentnb and agentnb.evals installed in this venv, on the built-in server and a toy ACP coder
written here. Run once per shipped schema of evaluation's (the file is committed as a test
fixture), in an empty folder:

    AGENTNB_HISTORY=evals-0.8.0.sqlite3 python make_evals_history.py

``evals-0.8.0.dev0.sqlite3`` was written by the code of 7a1c77cd (0.7.1 and what came after
it, before 0.8.0), whose core schema made evaluation's tables (m016, m019, m028);
``evals-0.8.0.sqlite3`` by the tagged v0.8.0 (its worktree first on ``PYTHONPATH``, its
``evals/`` second), evaluation's tables by agentnb-evals' own steps."""

import subprocess
import sys
import textwrap
from pathlib import Path

import agentnb
from agentnb import evals
from agentnb.evals import agreement, contains, dataset, experiment

tickers = dataset(
    "tickers",
    [
        {"id": "nvda", "question": "What is NVDA trading at?", "expected": "NVDA"},
        {"id": "aapl", "question": "What is AAPL trading at?", "expected": "AAPL"},
        {"id": "msft", "question": "What is MSFT trading at?", "expected": "MSFT"},
    ],
)
exp = experiment(
    "tickers", ["finance_agent", "echo"], tickers, evaluators=[contains], progress=False
)
for i, local_id in enumerate(exp.runs().local_ids):
    agentnb.score(local_id, "verdict", i % 3 != 1)
agreement(exp.runs(), "contains", human="verdict").keep("the first rubric")

TOY_CODER = """
    import json, sys
    from pathlib import Path
    fixes = sys.argv[1] == "fix"
    def send(**message):
        print(json.dumps({"jsonrpc": "2.0", **message}), flush=True)
    for line in sys.stdin:
        message = json.loads(line)
        method, params = message.get("method"), message.get("params") or {}
        if method == "initialize":
            send(id=message["id"], result={"protocolVersion": 1, "agentCapabilities": {}})
        elif method == "session/new":
            cwd = params["cwd"]
            send(id=message["id"], result={"sessionId": "s1"})
        elif method == "session/prompt":
            calc = Path(cwd, "calc.py")
            if fixes:
                calc.write_text(calc.read_text().replace("a - b", "a + b"))
            change = {"sessionUpdate": "agent_message_chunk",
                      "content": {"type": "text", "text": "fixed" if fixes else "looked"}}
            send(method="session/update", params={"sessionId": "s1", "update": change})
            send(id=message["id"], result={"stopReason": "end_turn"})
        elif method and "id" in message:
            send(id=message["id"], error={"code": -32601, "message": "no such method"})
"""

if hasattr(evals, "workspace"):  # 0.8.0 on: each run's change in its own copy, kept
    project = Path("project")
    project.mkdir()
    (project / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    git = ["git", "-c", "user.name=me", "-c", "user.email=me@example.com"]
    for step in (["init", "-q"], ["add", "."], ["commit", "-qm", "start"]):
        subprocess.run([*git, *step], cwd=project, check=True)
    Path("toy_coder.py").write_text(textwrap.dedent(TOY_CODER))
    agentnb.connect("acp", command=[sys.executable, "toy_coder.py", "fix"], name="fixer")
    agentnb.connect("acp", command=[sys.executable, "toy_coder.py", "look"], name="looker")
    experiment(
        "fix-add",
        ["fixer", "looker"],
        ["Fix add()", "add(2, 3) should be 5"],
        workspace=evals.workspace("project"),
        progress=False,
    )
print(len(agentnb.runs()), agentnb.history.default_store().migrations()[-1])
