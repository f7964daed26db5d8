"""The kernel: settings, the error tree, ids and etags, time and JSON helpers. Imports nothing of ours."""
