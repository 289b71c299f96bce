"""The notebook's side of an experiment on a cluster, run by the cluster's venv (which has
Dask or Ray, and agentnb from the checkout): ``cluster_driver.py dask|ray ADDRESS tickers|spin``.
The history it writes is ``AGENTNB_HISTORY``'s; it prints what the experiment left undone."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cluster_experiments

from agentnb import evals


def executor(kind: str, address: str):  # type: ignore[no-untyped-def]
    if kind == "dask":
        from distributed import Client

        client = Client(address)
        client.wait_for_workers(2, timeout=300)
        return client.get_executor()
    return evals.ray_executor(address)


def main() -> None:
    kind, address, which = sys.argv[1:4]
    ran = getattr(cluster_experiments, which)(executor(kind, address))
    print("undone:", ran._remote.undone if ran._remote is not None else 0, flush=True)


if __name__ == "__main__":
    main()
