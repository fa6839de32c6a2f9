"""Planning PHONE changes: what becomes E.164, what is left alone and why, and the cache."""

from __future__ import annotations

import random

import pytest

from smsbridge.normalize import plan as phone_normalization
from smsbridge.normalize.plan import (
    PhoneChange,
    PhoneNormalizer,
    Unparseable,
    check_region,
)
from smsbridge.rules.phones import PhoneError, to_e164


def entry(item_id: str, value: str, value_type: str = "WORK") -> dict[str, str]:
    return {"ID": item_id, "VALUE": value, "VALUE_TYPE": value_type, "TYPE_ID": "PHONE"}


def reading(raw: str) -> tuple[str | None, str]:
    try:
        return to_e164(raw), ""
    except PhoneError as exc:
        return None, exc.reason


def corpus(n: int, seed: int = 7) -> list[str]:
    """Random numbers, valid and not, in the spellings CRMs hold them in."""
    rnd = random.Random(seed)
    prefixes = ["", "7", "8", "+7", "+1", "+44", "+375", "49", "+49", "+", "00", "1", "9"]
    separators = [" ", "-", "(", ")", ".", "", "", "", "  ", "\u00a0", "/", "x", "+"]
    numbers = []
    for _ in range(n):
        digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 11)))
        text = rnd.choice(prefixes) + digits
        text = "".join(ch + (rnd.choice(separators) if rnd.random() < 0.3 else "") for ch in text)
        numbers.append(rnd.choice(["", " ", "("]) + text + rnd.choice(["", " ", ")"]))
    return numbers


def russian_corpus(n: int, seed: int = 11) -> list[str]:
    """Mostly valid Russian numbers (mobile, city, 8-800, Kazakh +7) in every shape the Russian
    shortcut takes, and near misses."""
    rnd = random.Random(seed)
    codes = ["900", "925", "999", "958", "495", "812", "343", "800", "700", "701", "336", "301"]
    shapes = ["+7{}", "8{}", "7{}", "{}", "+7 ({}", "8-{}", "+8{}", "+{}", "07{}", "87{}"]
    numbers = []
    for _ in range(n):
        national = rnd.choice([*codes, f"{rnd.randrange(1000):03d}"]) + "".join(
            rnd.choice("0123456789") for _ in range(rnd.choice([7, 7, 7, 6, 8]))
        )
        numbers.append(rnd.choice(shapes).format(national))
    return numbers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8 (925) 507-06-02", "+79255070602"),
        ("+7 925 5070602", "+79255070602"),
        ("79255070602", "+79255070602"),
        ("9255070602", "+79255070602"),
        ("8-925-507-06-02", "+79255070602"),
        (" +7(925)507-06-02 ", "+79255070602"),
        ("8 (495) 123-45-67", "+74951234567"),
        ("8 800 555-35-35", "+78005553535"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (202) 555-0143", "+12025550143"),
        ("+375 29 123-45-67", "+375291234567"),
        ("447911123456", "+447911123456"),
    ],
)
def test_a_messy_number_becomes_a_change_to_e164(raw: str, expected: str) -> None:
    plan = PhoneNormalizer().plan([entry("17", raw, "MOBILE")])
    assert plan.changes == [PhoneChange("17", raw, expected, "MOBILE")]
    assert (plan.unparseable, plan.already_e164) == ([], 0)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("abc", "not a phone number"),
        ("", "not a phone number"),
        ("не звонить", "not a phone number"),
        ("12", "not a valid phone number"),
        ("+7 925 507", "not a valid phone number"),
        ("+19990000000", "not a valid phone number"),
    ],
)
def test_garbage_is_reported_with_a_reason_and_not_changed(raw: str, reason: str) -> None:
    plan = PhoneNormalizer().plan([entry("5", raw)])
    assert plan.unparseable == [Unparseable("5", raw, reason)]
    assert (plan.changes, plan.already_e164) == ([], 0)


def test_values_already_in_e164_are_counted_not_changed() -> None:
    plan = PhoneNormalizer().plan(
        [entry("1", "+79255070602"), entry("2", "+442079460958"), entry("3", "8 925 5070602")]
    )
    assert plan.already_e164 == 2
    assert [change.item_id for change in plan.changes] == ["3"]


def test_an_item_with_several_phones_changes_only_the_messy_ones() -> None:
    plan = PhoneNormalizer().plan(
        [
            entry("10", "8 (925) 507-06-02", "MOBILE"),
            entry("11", "+74951234567", "WORK"),
            entry("12", "abc", "OTHER"),
            entry("13", "+1 (202) 555-0143", "HOME"),
        ]
    )
    assert plan.changes == [
        PhoneChange("10", "8 (925) 507-06-02", "+79255070602", "MOBILE"),
        PhoneChange("13", "+1 (202) 555-0143", "+12025550143", "HOME"),
    ]
    assert plan.unparseable == [Unparseable("12", "abc", "not a phone number")]
    assert plan.already_e164 == 1


def test_the_planned_values_plan_no_change_the_second_time() -> None:
    normalizer = PhoneNormalizer()
    first = normalizer.plan([entry(str(i), raw) for i, raw in enumerate(corpus(500))])
    again = PhoneNormalizer().plan([entry(c.item_id, c.new) for c in first.changes])
    assert again.changes == [] and again.unparseable == []
    assert again.already_e164 == len(first.changes)


def test_an_entry_without_id_is_never_planned_as_a_change() -> None:
    """Bitrix24 would add an entry sent without ID as a new phone."""
    plan = PhoneNormalizer().plan([{"VALUE": "8 925 507 06 02", "VALUE_TYPE": "WORK"}])
    assert plan.changes == []
    assert plan.unparseable == [Unparseable("", "8 925 507 06 02", "the entry has no ID")]


def test_a_missing_value_is_reported() -> None:
    plan = PhoneNormalizer().plan([{"ID": "4", "VALUE_TYPE": "WORK"}])
    assert plan.unparseable == [Unparseable("4", "", "not a phone number")]


def test_the_region_decides_how_national_numbers_read() -> None:
    assert PhoneNormalizer("GB").plan([entry("1", "020 7946 0958")]).changes == [
        PhoneChange("1", "020 7946 0958", "+442079460958", "WORK")
    ]
    assert PhoneNormalizer("kz").plan([entry("1", "8 701 234 5678")]).changes == [
        PhoneChange("1", "8 701 234 5678", "+77012345678", "WORK")
    ]


def test_an_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown region 'XX'"):
        PhoneNormalizer("XX")
    assert check_region(" ru ") == "RU"


def counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What `to_e164` is asked from now on."""
    parsed: list[str] = []

    def counting(raw: str, region: str = "RU") -> str:
        parsed.append(raw)
        return to_e164(raw, region)

    monkeypatch.setattr(phone_normalization, "to_e164", counting)
    return parsed


def test_spellings_of_one_number_are_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = counting_parses(monkeypatch)
    spellings = ["+44 20 7946 0958", "+44-20-7946-0958", "+44 (20) 7946 0958", "+44 20 7946 0958"]
    plan = PhoneNormalizer().plan([entry(str(i), raw) for i, raw in enumerate(spellings)])
    assert {change.new for change in plan.changes} == {"+442079460958"}
    assert parsed == ["+442079460958"]


def test_valid_russian_numbers_skip_parsing_and_the_rest_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = counting_parses(monkeypatch)
    russian = ["8 (925) 507-06-02", "+7 925 5070602", "79255070602", "9255070602", "88005553535"]
    plan = PhoneNormalizer().plan([entry(str(i), raw) for i, raw in enumerate(russian)])
    assert [c.new for c in plan.changes] == ["+79255070602"] * 4 + ["+78005553535"]
    assert parsed == []
    others = ["0255070602", "+7 925 507", "79255070602 доб. 1", "+44 20 7946 0958"]
    plan = PhoneNormalizer().plan([entry(str(i), raw) for i, raw in enumerate(others)])
    assert parsed == ["0255070602", "+7925507", "79255070602 доб. 1", "+442079460958"]
    # An extension is kept: the value is left as it is and listed (issue 10, numbers read exactly).
    assert [bad.item_id for bad in plan.unparseable] == ["0", "1", "2"]
    assert [c.new for c in plan.changes] == ["+442079460958"]


def test_a_full_cache_starts_over_and_stays_right() -> None:
    normalizer = PhoneNormalizer(cache_size=3)
    numbers = corpus(50)
    assert [normalizer.read(raw) for raw in numbers] == [reading(raw) for raw in numbers]


@pytest.mark.parametrize("numbers", [corpus(20_000), russian_corpus(20_000)])
def test_the_shortcuts_read_every_spelling_as_to_e164_does(numbers: list[str]) -> None:
    """Bare digits are read instead of the text, Russian ones without parsing: nothing differs."""
    normalizer = PhoneNormalizer()
    assert [normalizer.read(raw) for raw in numbers] == [reading(raw) for raw in numbers]
