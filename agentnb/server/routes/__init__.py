"""The dialects the built-in server speaks: one module ``_<dialect>_routes`` per dialect.

Each declares ``DIALECT = ServedDialect(...)`` (:mod:`agentnb.server._served_dialects` finds
them), renders a run's steps as its platform streams them and answers its platform's paths.
"""
