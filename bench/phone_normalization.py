"""Phone normalization throughput: numbers/s of the `normalize-phones` planning on one core.

A CRM-like corpus of N messy PHONE values (Russian mobiles and landlines in eight spellings,
foreign numbers, garbage; a number often appears more than once, in different spellings, as
contacts and their leads do) is planned item by item with `PhoneNormalizer.plan`, cold cache each
round. The baseline, measured in the same run, is the plain approach: `phonenumbers.parse` +
`format_number` for every value, no cache (it does not even check validity). A second corpus of N
values that are all different numbers shows the figure the cache cannot flatter; `to_e164`
uncached (our rules, no cache) is printed for reference.

Run: `.venv/bin/python -m bench.phone_normalization [N] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
from collections.abc import Callable
from functools import partial

import phonenumbers

from smsbridge.normalize.plan import PhoneNormalizer
from smsbridge.rules.phones import PhoneError, to_e164

SPELLINGS: tuple[Callable[[str], str], ...] = (
    lambda n: f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"+7 {n[:3]} {n[3:]}",
    lambda n: f"7{n}",
    lambda n: n,
    lambda n: f"+7{n}",
    lambda n: f"8-{n[:3]}-{n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"+7({n[:3]}){n[3:6]}-{n[6:]}",
    lambda n: f"8{n}",
)
FOREIGN: tuple[Callable[[str], str], ...] = (
    lambda d: f"+44 20 {d[:4]} {d[4:8]}",
    lambda d: f"+1 (202) 555-{d[4:8]}",
    lambda d: f"+375 29 {d[1:4]}-{d[4:6]}-{d[6:8]}",
)
GARBAGE = ("abc", "12", "не звонить", "нет", "+7 925 507", "0", "доб. 123", "-")
MOBILE_CODES = ("900", "903", "905", "915", "916", "925", "926", "985", "999")


def person(rnd: random.Random, i: int) -> Callable[[random.Random], str]:
    """Person i's phone, and how it gets written: mostly a Russian mobile in any of the usual
    spellings, some landlines, foreign numbers, and a little garbage."""
    kind = rnd.random()
    tail = f"{i:07d}"
    if kind < 0.95:
        national = (rnd.choice(MOBILE_CODES) if kind < 0.75 else "495") + tail
        return lambda r: r.choice(SPELLINGS)(national)
    if kind < 0.98:
        foreign = rnd.choice(FOREIGN)(f"{i:08d}")
        return lambda r: foreign
    garbage = rnd.choice(GARBAGE)
    return lambda r: garbage


def corpus(n: int, seed: int, *, distinct: bool) -> list[list[dict[str, str]]]:
    """CRM items of 1–3 phones, n phones in all. Not distinct: n phones of n/2 people (a person
    is in a contact and a lead, or twice), each time spelled anew. Distinct: every value a
    different number (no garbage)."""
    rnd = random.Random(seed)
    if distinct:
        people = [person(rnd, i) for i in range(n * 2)]
        values = list(dict.fromkeys(write(rnd) for write in people))
        values = [v for v in values if v not in GARBAGE][:n]
    else:
        people = [person(rnd, i) for i in range(n // 2)]
        values = [rnd.choice(people)(rnd) for _ in range(n)]
    items: list[list[dict[str, str]]] = []
    position = 0
    while position < len(values):
        size = rnd.choice((1, 1, 2, 3))
        items.append(
            [
                {"ID": str(position + k), "VALUE": value, "VALUE_TYPE": "WORK", "TYPE_ID": "PHONE"}
                for k, value in enumerate(values[position : position + size])
            ]
        )
        position += size
    return items


def plan_all(items: list[list[dict[str, str]]]) -> int:
    normalizer = PhoneNormalizer("RU")  # cold cache
    return sum(len(normalizer.plan(phones).changes) for phones in items)


def baseline(values: list[str]) -> int:
    written = 0
    for value in values:
        try:
            number = phonenumbers.parse(value, "RU")
        except phonenumbers.NumberParseException:
            continue
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        written += 1
    return written


def uncached(values: list[str]) -> int:
    valid = 0
    for value in values:
        try:
            to_e164(value, "RU")
            valid += 1
        except PhoneError:
            continue
    return valid


def best_rates(work: dict[str, Callable[[], object]], count: int, rounds: int) -> dict[str, float]:
    """Numbers per second of each one's fastest run; rounds interleave them, so a busy machine
    slows all of them alike."""
    best = dict.fromkeys(work, float("inf"))
    for _ in range(rounds):
        for name, run in work.items():
            gc.collect()
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: count / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=200_000, help="phone values")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(f"phone normalization, {args.n:,} values, best of {args.rounds}, one core")

    for label, distinct in (("realistic (repeats)", False), ("distinct numbers", True)):
        items = corpus(args.n, seed=2026, distinct=distinct)
        values = [phone["VALUE"] for phones in items for phone in phones]
        count = len(values)
        unique = len(set(values))
        rates = best_rates(
            {
                "planning": partial(plan_all, items),
                "baseline": partial(baseline, values),
                "to_e164": partial(uncached, values),
            },
            count,
            args.rounds,
        )
        print(f"\n{label}: {count:,} values, {unique:,} distinct strings")
        print(f"  planning (PhoneNormalizer.plan) {rates['planning']:>12,.0f} numbers/s")
        print(f"  baseline parse+format, no cache {rates['baseline']:>12,.0f} numbers/s")
        print(f"  to_e164 per value, no cache     {rates['to_e164']:>12,.0f} numbers/s")
        print(f"  ratio planning / baseline       {rates['planning'] / rates['baseline']:>12.2f}")


if __name__ == "__main__":
    main()
