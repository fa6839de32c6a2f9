"""Real-browser tests (a package, so that the browser fixture stops when they are done)."""
