"""whosthat: self-hosted face login and attendance, offline and CPU-first."""

__version__ = "0.1.0"
