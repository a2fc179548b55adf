"""The library: completed jobs' documents split into searchable sections (PostgreSQL full-text search)."""
