"""Conversations, chat templates and loss masks.

from forge.chat import get_template, load_tokenizer, encode_conversations
t = get_template("llama-3.1")
rows = encode_conversations(t, load_tokenizer("models/my-model"), convs)
"""

from forge.chat.conversation import ROLES, Conversation, Message
from forge.chat.encode import POLICIES, Encoded, Rejected, encode_conversations
from forge.chat.resolve import resolve_template
from forge.chat.template import ChatTemplate, TemplateRenderError, get_template
from forge.chat.tokenizer import ChatTokenizer, load_tokenizer

__all__ = [
    "POLICIES",
    "ROLES",
    "ChatTemplate",
    "ChatTokenizer",
    "Conversation",
    "Encoded",
    "Message",
    "Rejected",
    "TemplateRenderError",
    "encode_conversations",
    "get_template",
    "load_tokenizer",
    "resolve_template",
]
