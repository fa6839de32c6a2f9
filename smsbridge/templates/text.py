"""A template check in words, English (the command, the flow's artifacts) or Russian (the app's
page, by default): one wording for all, the two languages held to the same keys by a test."""

from __future__ import annotations

from smsbridge.report.wording import Lang, money, number
from smsbridge.rules.expensive import CYRILLIC, FORCES_UCS2, TWICE_GSM7, TWICE_UCS2
from smsbridge.templates.check import TemplateCheck

WORDS: dict[Lang, dict[str, str]] = {
    "en": {
        "items": "items checked",
        "items_value": "{items} {entity}s, newest first",
        "template": "template alone",
        "template_value": "{units} characters, {encoding}, {segments} SMS",
        "lengths": "length (characters)",
        "lengths_value": "min {min}, median {median}, p90 {p90}, max {max}",
        "encoding": "encoding",
        "segments": "segments",
        "segments_part": "{count} SMS: {items}",
        "segments_value": "{parts} (total {total})",
        "crossing": "past the template's own segments",
        "of": "{part} of {whole}",
        "of_share": "{part} of {whole} ({share:.0%})",
        "unsendable": "not sendable (empty, over 8 SMS)",
        "switched": "turned UCS-2 by the data",
        "fewer": "to fit {fewer} SMS instead of {count}",
        "fewer_value": "{chars} characters fewer",
        "sample_cost": "cost of the sample",
        "per_thousand": "per 1,000 sends",
        "per_thousand_value": "{cost} (priced for {phone})",
        "probe": "  a {segments}-SMS text",
        "probe_value": "{cost}, {items} items",
        "probe_smsru": "; SMS.ru counts {counted}",
        "plain": "with plain characters",
        "plain_value": "{before} → {after} SMS for the sample",
        "requests": "Bitrix24 requests",
        "placeholder": "placeholder",
        "field": "field",
        "unknown_field": "unknown: {problem}",
        "empty_on": "empty on",
        "character": "character",
        "what": "what",
        "why": "why",
        "replacement": "plain",
        "count": "items",
        "where": "where",
        "in_template": "template",
        "in_data": "CRM data",
    },
    "ru": {
        "items": "Проверено записей",
        "items_value": "{items} ({entity}, сначала новые)",
        "template": "Шаблон без данных",
        "template_value": "{units} символов, {encoding}, SMS: {segments}",
        "lengths": "Длина (символов)",
        "lengths_value": "мин. {min}, медиана {median}, 90 % до {p90}, макс. {max}",
        "encoding": "Кодировка",
        "segments": "Сегменты",
        "segments_part": "{count} SMS: {items}",
        "segments_value": "{parts} (всего {total})",
        "crossing": "Длиннее сегментов самого шаблона",
        "of": "{part} из {whole}",
        "of_share": "{part} из {whole} ({share:.0%})",
        "unsendable": "Не отправить (пусто или больше 8 SMS)",
        "switched": "Данные перевели в UCS-2",
        "fewer": "Чтобы уложиться в {fewer} SMS вместо {count}",
        "fewer_value": "на {chars} символов короче",
        "sample_cost": "Стоимость выборки",
        "per_thousand": "За 1000 отправок",
        "per_thousand_value": "{cost} (по цене для {phone})",
        "probe": "  текст на {segments} SMS",
        "probe_value": "{cost}, записей: {items}",
        "probe_smsru": "; SMS.ru считает {counted}",
        "plain": "С простыми символами",
        "plain_value": "{before} → {after} SMS на выборку",
        "requests": "Запросов к Битрикс24",
        "placeholder": "Поле шаблона",
        "field": "Поле CRM",
        "unknown_field": "неизвестно: {problem}",
        "empty_on": "Пусто у",
        "character": "Символ",
        "what": "Что это",
        "why": "Почему дороже",
        "replacement": "Замена",
        "count": "Записей",
        "where": "Где",
        "in_template": "в шаблоне",
        "in_data": "в данных CRM",
    },
}
# The entities, and what `rules.expensive` says of a character, in Russian (English as it is).
ENTITIES_RU = {"deal": "сделки", "lead": "лиды", "contact": "контакты"}
EXPENSIVE_RU = {
    FORCES_UCS2: "переводит текст в UCS-2 (70 символов на SMS вместо 160)",
    TWICE_GSM7: "считается за два символа в GSM-7",
    TWICE_UCS2: "считается за два символа в UCS-2",
    CYRILLIC: "кириллическая буква в латинском тексте",
    "typographic quote": "типографская кавычка",
    "dash": "тире",
    "numero sign": "знак номера",
    "ellipsis": "многоточие",
    "non-breaking space": "неразрывный пробел",
    "thin space": "узкий пробел",
    "zero-width space": "пробел нулевой ширины",
    "bullet": "маркер списка",
    "multiplication sign": "знак умножения",
    "rouble sign": "знак рубля",
    "GSM-7 extension character": "символ расширения GSM-7",
    "emoji or symbol": "эмодзи или символ",
    "character outside GSM-7": "символ вне GSM-7",
}


def figure_rows(check: TemplateCheck, lang: Lang = "en") -> list[tuple[str, str]]:
    """The check's figures as (label, value), in the order people read them."""
    w = WORDS[lang]
    template, lengths = check.fixed, check.lengths()
    parts = ", ".join(
        w["segments_part"].format(count=k, items=n) for k, n in check.by_segments().items()
    )
    entity = ENTITIES_RU.get(check.entity, check.entity) if lang == "ru" else check.entity
    rows = [
        (w["items"], w["items_value"].format(items=number(check.items, lang), entity=entity)),
        (
            w["template"],
            w["template_value"].format(
                units=template.units, encoding=template.encoding, segments=template.segments
            ),
        ),
        (w["lengths"], w["lengths_value"].format(**lengths)),
        (w["encoding"], ", ".join(f"{name} {n}" for name, n in check.by_encoding().items())),
        (w["segments"], w["segments_value"].format(parts=parts, total=check.segments)),
        (
            w["crossing"],
            w["of_share"].format(
                part=check.crossing, whole=check.items, share=check.crossing / check.items
            ),
        ),
    ]
    if check.unsendable:
        rows.append((w["unsendable"], w["of"].format(part=check.unsendable, whole=check.items)))
    if check.switched_to_ucs2:
        rows.append((w["switched"], w["of"].format(part=check.switched_to_ucs2, whole=check.items)))
    rows += [
        (w["fewer"].format(fewer=count - 1, count=count), w["fewer_value"].format(chars=chars))
        for count, chars in check.to_one_fewer().items()
    ]
    rows += [
        (w["sample_cost"], money(check.sample_cost, lang)),
        (
            w["per_thousand"],
            w["per_thousand_value"].format(cost=money(check.per_thousand, lang), phone=check.phone),
        ),
    ]
    for probe in check.probes:
        counted = probe.smsru_segments
        note = (
            w["probe_smsru"].format(counted=counted)
            if counted not in (None, probe.segments)
            else ""
        )
        value = w["probe_value"].format(cost=money(probe.cost, lang), items=probe.items)
        rows.append((w["probe"].format(segments=probe.segments), value + note))
    if check.costly:
        rows.append(
            (w["plain"], w["plain_value"].format(before=check.segments, after=check.plain_segments))
        )
    rows.append((w["requests"], str(check.requests)))
    return rows


def placeholder_rows(check: TemplateCheck, lang: Lang = "en") -> list[dict[str, str]]:
    w = WORDS[lang]
    return [
        {
            w["placeholder"]: p.token,
            w["field"]: p.field
            or w["unknown_field"].format(problem=p.problem and p.problem.in_language(lang)),
            w["empty_on"]: w["of"].format(part=p.empty, whole=check.items),
        }
        for p in check.placeholders
    ]


def costly_rows(check: TemplateCheck, lang: Lang = "en") -> list[dict[str, str]]:
    w = WORDS[lang]
    said = EXPENSIVE_RU if lang == "ru" else {}
    return [
        {
            w["character"]: repr(c.culprit.char),
            w["what"]: said.get(c.culprit.what, c.culprit.what),
            w["why"]: said.get(c.culprit.why, c.culprit.why),
            w["replacement"]: "—" if c.culprit.replacement is None else repr(c.culprit.replacement),
            w["count"]: str(c.culprit.count),
            w["where"]: w["in_template"] if c.in_template else w["in_data"],
        }
        for c in check.costly
    ]
