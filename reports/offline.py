"""The offline provider's answer for the report builder's jobs (no LLM key)."""

from __future__ import annotations


def offline_text(prompt: str) -> str:
    """The offline provider's answer: the prompt's instruction and context, condensed."""
    instruction = prompt.rsplit("\n", 1)[-1]
    bullets = [line[2:] for line in prompt.splitlines() if line.startswith("- ")][:3]
    body = " ".join(bullets) if bullets else "No context is attached to this document."
    return f"{instruction} Based on the document's context: {body}"
