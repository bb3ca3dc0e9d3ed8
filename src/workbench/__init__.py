"""workbench: weekly ML monitoring reviews as parameterized notebooks."""

__version__ = "0.1.0"
