"""OpenAssistant message trees -> conversations (one per root-to-leaf path).

Two layouts are read: a bare message tree (root message with nested ``replies``) and the export
tree (``{message_tree_id, prompt: <root message>}``). The best path follows the best-ranked
reply at each turn (rank 0 is best; unranked replies come after ranked ones, in file order);
deleted messages and those that failed review are skipped. A path that ends on a user turn
drops that last turn, so every conversation ends with an assistant answer.
"""

from __future__ import annotations

from typing import Any

from forge.chat.conversation import Conversation, Message

MAX_PATHS = 256
"""paths=all: at most this many conversations per tree (row ids keep 8 bits for the path)."""

_ROLE = {"prompter": "user", "assistant": "assistant", "user": "user"}


def _usable(m: Any) -> bool:
    return (
        isinstance(m, dict)
        and isinstance(m.get("text"), str)
        and m.get("role") in _ROLE
        and not m.get("deleted")
        and m.get("review_result") is not False
    )


def _ranked(replies: Any) -> list[dict[str, Any]]:
    usable = [r for r in (replies or []) if _usable(r)]
    order = {id(r): i for i, r in enumerate(usable)}
    return sorted(
        usable,
        key=lambda r: (r.get("rank") is None, r.get("rank") or 0, order[id(r)]),
    )


def _paths(root: dict[str, Any], best_only: bool) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    stack = [[root]]
    while stack and len(out) < MAX_PATHS:
        path = stack.pop()
        kids = _ranked(path[-1].get("replies"))
        if not kids:
            out.append(path)
            continue
        if best_only:
            kids = kids[:1]
        stack.extend([*path, k] for k in reversed(kids))
    return out


def conversations(obj: dict[str, Any], paths: str = "best") -> list[Conversation]:
    from forge.data.normalize import Reject

    root = obj.get("prompt") if "message_tree_id" in obj else obj
    if not _usable(root):
        raise Reject("bad_tree", "the tree's root message is missing, deleted or has no text")
    tree_id = obj.get("message_tree_id") or root.get("message_id")
    convs = []
    for path in _paths(root, paths == "best"):
        msgs = [Message(_ROLE[m["role"]], m["text"]) for m in path]
        if msgs and msgs[-1].role == "user":
            msgs.pop()
        if len(msgs) < 2:
            continue
        meta = {"message_tree_id": tree_id, "lang": root.get("lang")}
        convs.append(Conversation(msgs, id=str(path[-1].get("message_id")), meta=meta))
    if not convs:
        raise Reject("no_answer", "the tree has no assistant reply")
    return convs
