"""Prompt injection, contained in code: article sentences that address a reader or a model are
flagged at ingest (chunk metadata), and LLM output is reduced to plain text before verification.

The flags do not remove anything from the index: a flagged sentence may still be quoted verbatim
and cited; an answer sentence supported only by flagged text is dropped (see engine._Builder).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.text import sentence_spans
from qa.types import Spans

_INSTRUCTION = re.compile(
    r"""
    \b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?
        \b(?:previous|prior|above|earlier|all|any|your|the|these|those|system)\b[^.\n]{0,25}?
        \b(?:instructions?|prompts?|rules?|directions?|messages?|guidelines?|context)\b
    | \b(?:system|developer|hidden|secret)\s+(?:prompt|message|instructions?|rules?)\b
    | \byou\s+(?:are|act)\s+(?:now|no\s+longer|as)\b
    | \b(?:new|updated|real|actual)\s+instructions?\b
    | \b(?:reply|respond|answer|say|output|print|repeat|write|type)\s+
        (?:(?:with|only|exactly|back|the\s+words?)\s+)*(?:["'“:]|(?-i:[A-Z0-9][A-Z0-9_-]{3,}\b))
    | \b(?:answer|reply|respond)\s+(?:to\s+)?(?:every|all|any|each)\s+(?:questions?|queries|users?)
    | \brepeat\s+after\s+me\b|\bas\s+an\s+ai\b
    | \b(?:dear|hey|attention)\s+(?:ai|assistant|model|chatbot|llm|bot)\b
    | \b(?:ai|assistant|model|chatbot|llm|bot)\s*,\s*
        (?:ignore|reply|say|repeat|answer|respond|tell|print|output|forget)\b
    | \b(?:reveal|print|show|disclose|leak)\b[^.\n]{0,30}\b(?:prompt|rules|instructions)\b
    | \b(?:readers?|the\s+users?|assistants?|chatbots?|(?:ai|language)\s+models?|\bai\b)\s+
        (?:should|must|shall|ought\s+to|need\s+to|have\s+to|has\s+to
           |are\s+(?:advised|asked|required|urged|reminded|told)\s+to)\s+
        (?:always\s+|also\s+|first\s+)?
        (?:know|note|remember|be\s+(?:aware|told)|understand|mention|include|say|state|cite
           |tell|answer|reply|respond|recommend|repeat|refer|add)\b
    | \byou\s+(?:should|must|shall|need\s+to|have\s+to)\s+(?:always\s+|also\s+)?
        (?:mention|state|cite|answer|reply|respond|recommend|repeat)\b
    | \b(?:every|each|any|all|your|the)\s+
        (?:answers?|responses?|repl(?:y|ies)|summar(?:y|ies)|outputs?|completions?)\s+
        (?:must|should|shall|has\s+to|have\s+to|needs?\s+to|is\s+to|are\s+to)\s+(?:always\s+)?
        (?:mention|include|say|state|cite|contain|refer|name|repeat|recommend|begin|start|end
           |note|reference|link|point)\b
    | (?:^|[.;:!?]\s+|\b(?:and|so|then)\s+)["'“(]?\s*(?:please\s+)?
        (?:always|be\s+sure\s+to|make\s+sure\s+(?:to|you)|remember\s+to|do\s+not\s+forget\s+to
           |don'?t\s+forget\s+to)\s+
        (?:include|mention|say|state|cite|recommend|refer\s+to|answer|reply|respond|repeat
           |tell\s+(?:the|every|all|your)|append)\b
    | \b(?:tell|inform|remind|advise|instruct|direct)\s+(?:the|your|every|all|any|each)\s+
        (?:users?|readers?|customers?|visitors?|askers?|people\s+who\s+ask)\b
    | \b(?:when|if|whenever)\s+(?:you\s+are\s+|anyone\s+|someone\s+|a\s+user\s+|users?\s+)?
        ask(?:ed|s)?\b[^.\n]{0,80},\s*(?:always\s+|just\s+|simply\s+)?
        (?:say|answer|reply|respond|mention|tell|recommend|point)\b
    | (?:^|[\s"'“(])(?:system|assistant|user|developer|human)\s*[:>]
    | <\|?\s*(?:im_start|im_end|system|user|assistant|endoftext)\s*\|?>
    | \[/?(?:INST|SYS)\]|<</?SYS>>
    | <\s*/?\s*(?:script|img|iframe|svg|a|object|embed|style)\b|javascript\s*:|\bon\w+\s*=
    | !?\[[^\]\n]*\]\([^)\n]*\)
    """,
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)


_FAKE_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def flag_spans(text: str) -> Spans:
    """(start, end) of each sentence of `text` that reads as instructions, a role marker or
    markup rather than as news, and of each fake citation marker ("[7]") in the others."""
    spans: list[tuple[int, int]] = []
    for s, e in sentence_spans(text):
        if _INSTRUCTION.search(text[s:e]):
            spans.append((s, e))
        else:
            spans.extend((s + m.start(), s + m.end()) for m in _FAKE_MARKER.finditer(text[s:e]))
    return tuple(spans)


def mask(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` with the flagged spans blanked out (same length, so offsets still hold)."""
    chars = list(text)
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


_URL = r"\((?:[^()\n]|\([^()\n]*\))*\)"  # (url), allowing one level of (parentheses)
_IMAGE = re.compile(r"!\[[^\]\n]*\]" + _URL)
_LINK = re.compile(r"\[([^\]\n]*)\]" + _URL)
_TAG = re.compile(r"<\s*/?\s*[A-Za-z!][^>\n]*>?|<\|[^|>\n]*\|>")
_SCHEME = re.compile(r"\b(?:javascript|vbscript|data)\s*:\S*", re.IGNORECASE)


def plain_text(text: str) -> str:
    """LLM output as plain text: Markdown images and HTML removed, links reduced to their words,
    script URLs dropped. Answers are text; the page never renders markup."""
    text = _IMAGE.sub("", text)
    text = _LINK.sub(lambda m: m.group(1) if not re.fullmatch(r"\d+", m.group(1)) else "", text)
    text = _TAG.sub("", text)
    text = _SCHEME.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", text)
