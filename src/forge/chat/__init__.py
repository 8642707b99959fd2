"""Conversations, chat templates and loss masks."""

from forge.chat.conversation import ROLES, Conversation, Message

__all__ = ["ROLES", "Conversation", "Message"]
