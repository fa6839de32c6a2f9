import pytest

from smsbridge.rules.phones import PhoneError, smsru_number, to_e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 (925) 507-06-02", "+79255070602"),
        ("8 925 507 06 02", "+79255070602"),
        ("89255070602", "+79255070602"),
        ("79255070602", "+79255070602"),
        ("9255070602", "+79255070602"),
        ("+79255070602", "+79255070602"),
        ("  +7-925-507-06-02 ", "+79255070602"),
        ("+1 202 555 0143", "+12025550143"),
        ("447911123456", "+447911123456"),
        ("+375 29 123-45-67", "+375291234567"),
    ],
)
def test_normalizes_to_e164(raw: str, expected: str) -> None:
    assert to_e164(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "not a phone number"),
        ("abc", "not a phone number"),
        ("+1*********", "not a valid phone number"),
        ("123", "not a valid phone number"),
        ("+7 925 507", "not a valid phone number"),
        ("+19990000000", "not a valid phone number"),
        ("8 (125) 507-06-02", "not a valid phone number"),  # not Japan's +81 255 …
    ],
)
def test_rejects_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(PhoneError) as caught:
        to_e164(raw)
    assert caught.value.reason == reason
    assert caught.value.raw == raw


def test_default_region_reads_national_numbers() -> None:
    assert to_e164("020 7946 0958", region="GB") == "+442079460958"


def test_smsru_number_drops_the_plus() -> None:
    assert smsru_number("+79255070602") == "79255070602"
