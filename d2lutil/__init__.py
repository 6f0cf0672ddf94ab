"""d2lutil: the helper package of the course *Deep Learning, Executed*."""

__version__ = "0.1.0"
