"""What the notebook and the CLI share: named connections, ``ask`` / ``chat`` / ``attach`` /
``batch``, platform run listings, what ``attach`` is given, the run options of both, kernel
interrupts and how a run whose error the caller raises is shown. It builds on the client and
shows runs with the displays (:mod:`agentnb._display`)."""
