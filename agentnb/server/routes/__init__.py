"""The dialects the built-in server speaks: one module ``_<dialect>_routes`` per dialect.

Each declares ``DIALECT = ServedDialect(...)`` (:mod:`agentnb.server._served_dialects` finds
it: nothing lists the dialects), renders a run's steps as its platform streams them and
answers its platform's paths: it holds only what differs between dialects (its paths, how
its platform's request reads into an ``AgentInput``, its frames); starting, streaming,
resuming and continuing a run are the service's (``run_route``, ``run_start``, ``rejoin``,
``continue_run``). It takes what it needs of the service from :mod:`._route_kit`, the
steps from :mod:`agentnb.server._steps`, both as modules (``from . import _route_kit as kit``,
``from .. import _steps as steps``: ``kit.run_start``, ``steps.Text``), and nothing else of
the server. Siblings hold what some dialects share: ``_open_blocks`` the text or reasoning
block each agent of a run has open (AG-UI, the AI SDK), ``_uimessages`` the AI SDK's UI
messages (the Vercel routes).

A new dialect is its provider module (:mod:`agentnb.providers`), its routes module here,
its tests and its docs: the app mounts it, ``DIALECT_PROVIDERS`` and
:meth:`~agentnb.server.ServerHandle.url_for` read it, and ``tests/test_dialect_list.py``
keeps the served dialects equal to the registry.
"""
