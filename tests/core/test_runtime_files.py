"""The file store: a lazily rendered image is served with the bytes an eager render gives, and expires on
the virtual clock like any other file."""

from __future__ import annotations

import io

from flask import Flask
from PIL import Image

from pixelmock.emulators.core.exchange import Exchange, opened
from pixelmock.emulators.core.images import ImageSpec, render
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.web.context import runtime

SPEC = ImageSpec("runware", "openai:4@1", 1536, 1024, "webp", "transparent", "high", "a sticker sheet", 3)


def test_lazy_file_serves_the_same_bytes_as_an_eager_one(app: Flask) -> None:
    rt: Runtime = app.extensions["pixelmock"]
    origin = "http://127.0.0.1:8080/"
    with opened(Exchange("GET", "/", rt.clock.now(), origin_of=lambda: origin)):
        lazy = rt.files.put_image(SPEC)
        eager = rt.files.put(render(SPEC), SPEC.output_format)
    assert lazy.url.startswith("http://127.0.0.1:8080/files/") and lazy.url.endswith(".webp")
    client = app.test_client()
    served = client.get(lazy.url.removeprefix("http://127.0.0.1:8080"))
    assert served.status_code == 200 and served.mimetype == "image/webp"
    assert served.data == client.get(eager.url.removeprefix("http://127.0.0.1:8080")).data
    image = Image.open(io.BytesIO(served.data))
    assert (image.format, image.size, image.mode) == ("WEBP", (1536, 1024), "RGBA")


def test_lazy_file_expires_on_the_virtual_clock(app: Flask) -> None:
    with app.test_request_context("/"):
        stored = runtime().files.put_image(SPEC, ttl_seconds=60)
        rt = runtime()
    path = "/files/" + stored.url.rsplit("/", 1)[1]
    assert app.test_client().get(path).status_code == 200
    rt.clock.advance(61)
    assert app.test_client().get(path).status_code == 404
