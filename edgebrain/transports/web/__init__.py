"""The web console: aiohttp routes, sign-in and CSRF, the page and its live updates."""
