"""The only code that touches the machine: /proc, engine, subprocesses, files, caches."""
