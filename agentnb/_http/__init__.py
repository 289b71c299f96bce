"""agentnb's HTTP machinery (its contract is written in the next commit)."""
