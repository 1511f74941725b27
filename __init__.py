"""pixelmock: local emulators and contract tests for OpenAI's GPT Image models (gpt-image-1.5,
gpt-image-2) as sold by OpenAI, Cloudflare Workers AI, Apiframe, Runware and GMI Cloud.

Installed, this file is ``pixelmock/__init__.py`` and the repository's code folders are its subpackages
(``pyproject.toml`` maps them): ``pixelmock.contracts`` (what each provider promises, as data and pure
functions), ``pixelmock.emulators`` (the Flask emulators, their control plane, the pytest plugin and the
``pixelmock`` command) and ``pixelmock.client`` (the reference client). Importing this package imports
nothing else.
"""

__version__ = "0.7.0"
