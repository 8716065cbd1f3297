"""The web server's database backend: Django's PostgreSQL backend whose pool takes
its health check from the pool options (config/asgi.py, jobs.api.poll.RecentUseCheck)."""
