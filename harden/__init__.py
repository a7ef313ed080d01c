"""harden: container security hardening and audit toolkit.

The package is a typed library with a thin command-line interface (``harden``).
Heavy modules are imported lazily so that ``harden --help`` starts fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
