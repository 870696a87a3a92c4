"""``lit_basics.inspection.NotesInspector``: the name older configs use for
:class:`lit_basics.callbacks.NotesInspector`."""

from lit_basics.callbacks.inspector import NotesInspector

__all__ = ["NotesInspector"]
