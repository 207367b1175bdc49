"""One call traces every model request of an OpenAI or Anthropic client. [instrument]

`instrument_openai()` / `instrument_anthropic()` wrap the SDK's request methods (of every
client, or of the one passed): each call becomes a `chat {model}` span inside the current
`turn()`, or a turn of its own when none is open, with the attributes of a Codex or Claude
Code model call. Neither SDK is a dependency of staso: each is imported here, when its
function is called (`pip install 'staso[openai]'`, `'staso[anthropic]'`).
"""

from __future__ import annotations

from typing import Any


def instrument_openai(client: Any = None) -> None:
    """Trace chat.completions and responses calls (sync, async, streamed) of every OpenAI
    client, or only of `client`. Calling it again changes nothing."""
    from staso_otel.instrument import openai

    openai.instrument(client)


def instrument_anthropic(client: Any = None) -> None:
    """Trace messages calls (create, stream=True, messages.stream(); sync and async) of every
    Anthropic client, or only of `client`. Calling it again changes nothing."""
    from staso_otel.instrument import anthropic

    anthropic.instrument(client)


__all__ = ["instrument_anthropic", "instrument_openai"]
