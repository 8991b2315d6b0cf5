"""celery-audit: static analysis of how Celery is wired into Flask applications."""

__version__ = "0.1.0"
