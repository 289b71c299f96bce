"""The history as a person reads it: tables, past runs shown, comparisons, listings."""
