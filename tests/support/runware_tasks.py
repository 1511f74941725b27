"""A Runware imageInference task for the Runware emulator tests (REST and WebSocket alike)."""

from __future__ import annotations

import uuid
from typing import Any


def image_task(**changes: Any) -> dict[str, Any]:
    """A valid ``imageInference`` task (gpt-image-1.5, 1024x1024, a fresh taskUUID), with ``changes``."""
    task = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "openai:4@1",
        "positivePrompt": "a lighthouse at dusk, watercolor",
        "width": 1024,
        "height": 1024,
    }
    task.update(changes)
    return task
