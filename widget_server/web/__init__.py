"""The HTTP layer: API, pages, assets, problems, limits, security headers. Nothing imports it."""
