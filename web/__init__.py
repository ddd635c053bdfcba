"""The read-only web app: HTTP API, Atom feeds and pages over jobdelta's history."""
