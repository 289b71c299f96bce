"""Many runs at once: ``batch`` and a dataset's examples."""
