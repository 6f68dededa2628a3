"""How a note is shown (imported both relatively and as plugin.plugins.memo_box._format)."""

MAX_TEXT = 200


def note_line(key: str, note: dict) -> str:
    return f"{key}: {note['text']}"
