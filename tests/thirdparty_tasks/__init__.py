"""A team's own tasks, in a module the platform has never heard of (not an app)."""
