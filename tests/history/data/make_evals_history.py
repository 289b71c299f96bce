"""Writes a small history file with evaluation's tables in use (a kept dataset, an
experiment on it with its evaluations, a person's verdicts and a kept agreement), with the
agentnb and agentnb.evals installed in this venv, on the built-in server. Run once per
shipped schema of evaluation's (the file is committed as a test fixture):

    AGENTNB_HISTORY=evals-0.8.0.dev0.sqlite3 python make_evals_history.py

``evals-0.8.0.dev0.sqlite3`` was written by the code of 7a1c77cd (0.7.1 and what came after
it, before 0.8.0), whose core schema made evaluation's tables (m016, m019, m028)."""

import agentnb
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
print(len(agentnb.runs()), agentnb.history.default_store().migrations()[-1])
