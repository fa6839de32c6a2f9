"""Sent texts grouped into the templates they were made from, for cost by template.

A robot's text differs from message to message only where the CRM filled it in: numbers, amounts,
dates and times, links, codes, names. Those parts are recognised and masked (`{number}`, `{date}`,
`{link}`, `{code}`, `{name}` …); texts that are then equal come from one template. Names are
masked after a known greeting ("Здравствуйте, Анна!") and, in a second pass over the masked
forms, wherever forms differ only in capitalised words at the same places ("Анна, ваш заказ…",
"Борис, ваш заказ…").

Fast enough for a day of a million messages, read a chunk at a time: each chunk's texts are
joined into one string whose digits become `0` and whose links become `{link}` in a few C calls
(per text, even `str.translate` is slow off ASCII), so texts that differ only there collapse into
one shape; only the distinct shapes are kept, and the rest of the masking and the
capitalised-word pass run over them alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd

_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_SEPARATOR = "\x00"
# A link with a scheme (never past a text's end): its literal start lets the engine skip ahead,
# so it runs over all texts at once; www. or a bare domain with a path costs a try at every
# word, so those are masked later, over the distinct shapes only.
_LINK = re.compile(r"https?://[^\s\x00]+")
_BARE_LINK = r"\bwww\.\S+|\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:ru|su|com|net|org|me|io)/\S*"
_MONTHS = (
    "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
    "|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
)
_GREETING = (
    r"(?:Здравствуйте|Добрый\s+(?:день|вечер|утро)|Доброе\s+утро|Привет|Уважаем(?:ый|ая|ые)"
    r"|Hello|Hi|Dear)"
)
_WORD = r"[A-ZА-ЯЁ][a-zа-яё]+"
# Words a text often opens with before a comma that are not names.
_OPENERS = r"(?:Спасибо|Напоминаем|Внимание|Поздравляем|Отлично|Готово|Thanks|Reminder|Note)"
# (pattern, mask) over a text whose digits are zeros and links masked, in order: a date before
# its numbers, a code (letters and digits) before its digits.
# A name must be capitalised (case matters); the greeting before it need not be.
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, flags), replacement)
    for pattern, replacement, flags in (
        (_BARE_LINK, "{link}", re.IGNORECASE),
        (
            r"\b0{1,2}[./]0{1,2}(?:[./]0{2,4})?\b|\b0{1,2}\s+(?:" + _MONTHS + r")\b",
            "{date}",
            re.IGNORECASE,
        ),
        (r"\b0{1,2}:00(?::00)?\b", "{time}", 0),
        (r"\b(?=\w*0)(?=\w*[^\W\d_])\w{4,}", "{code}", 0),
        (r"(?<![\w{])0+(?:[ \u00a0]000)*(?:[.,]0+)?(?![\w}])", "{number}", 0),
        (
            r"((?i:" + _GREETING + r"),?\s+)" + _WORD + r"(?:\s+" + _WORD + r")?",
            r"\1{name}",
            0,
        ),
        (r"^(?!" + _GREETING + "|" + _OPENERS + r")" + _WORD + r"(?=,)", "{name}", 0),
    )
)
_CAPITALISED = re.compile(_WORD + r"$")


def mask(text: str) -> str:
    """The text's template: its variable parts masked."""
    return _mask_shape(shape(text))


def shape(text: str) -> str:
    """The cheap first step: digits as zeros, links masked."""
    return _shapes([text])[0]


def _shapes(texts: Sequence[str]) -> list[str]:
    """`shape` of many texts in a few C calls over one joined string (texts never hold NUL:
    intake refuses it); per text, even `str.translate` is slow off ASCII."""
    joined = _SEPARATOR.join(texts).encode().translate(_DIGITS).decode()
    return _LINK.sub("{link}", joined).split(_SEPARATOR)


def _mask_shape(collapsed: str) -> str:
    for pattern, replacement in _MASKS:
        collapsed = pattern.sub(replacement, collapsed)
    return collapsed


def merge_names(forms: Sequence[str]) -> list[str]:
    """Masked forms that differ only in capitalised words at the same places become one, with
    those places masked as `{name}`; every other form stays as it is."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    words = [form.split(" ") for form in forms]
    for n, tokens in enumerate(words):
        key = tuple("{name}" if _CAPITALISED.match(t.strip(",.!?:;")) else t for t in tokens)
        groups[key].append(n)
    merged = list(forms)
    for members in groups.values():
        if len({forms[n] for n in members}) < 2:
            continue
        first = words[members[0]]
        differ = {at for at in range(len(first)) if len({words[n][at] for n in members}) > 1}
        template = " ".join(
            _masked_word(token) if at in differ else token for at, token in enumerate(first)
        )
        for n in members:
            merged[n] = template
    return merged


def _masked_word(token: str) -> str:
    """A capitalised word masked, its punctuation kept: "Анна," → "{name},"."""
    stripped = token.rstrip(",.!?:;")
    return "{name}" + token[len(stripped) :]


class TemplateCollector:
    """Texts in, template codes out, a chunk at a time, so that a day's texts are never all in
    memory: each chunk's texts become shapes at once, and only the distinct shapes are kept."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}  # shape → its number

    def add(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's shape number (int32)."""
        index = self._index
        return np.fromiter(
            (index.setdefault(s, len(index)) for s in _shapes(texts)),
            dtype=np.int32,
            count=len(texts),
        )

    def templates(self, shape_numbers: np.ndarray) -> pd.Categorical:
        """The templates of the texts whose shape numbers these are."""
        masked = merge_names([_mask_shape(s) for s in self._index])
        codes, labels = pd.factorize(np.asarray(masked, dtype=object))
        return pd.Categorical.from_codes(
            codes[shape_numbers], categories=list(labels), validate=False
        )


def template_codes(texts: Sequence[str]) -> pd.Categorical:
    """Each text's template, as a categorical over the distinct templates."""
    collector = TemplateCollector()
    return collector.templates(collector.add(texts))
