"""Named connections and the runs started on them: the one front door."""
