"""Operating tools on top of the app: the ``pixelmock`` command, the server, the recording proxy, replay,
drift, the demo, cassettes and the pytest plugin. Nothing imports this package."""
