"""The notebook's input: the ``%%agent`` magics, their arguments, the ``%agent ...?`` input
transform and ``{{name}}`` interpolation. It builds on the application layer (:mod:`agentnb._app`)
and the displays (:mod:`agentnb._display`)."""
