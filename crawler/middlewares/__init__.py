"""Downloader middlewares of jobdelta (one concern per module)."""
