from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from validators.redaction import REDACTED, PanRedactingFilter, install_redaction, redact_pans

PAN = "4111111111111111"


@pytest.mark.parametrize(
    "text",
    [
        PAN,
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "3782 822463 10005",
        "4111111111111",  # 13 digits
        "4111111111111111111",  # 19 digits
        "41111111111111111111234",  # longer runs may hide a PAN with something glued on
    ],
)
def test_card_number_shapes_are_redacted(text: str) -> None:
    assert redact_pans(f"card={text};") == f"card={REDACTED};"


@pytest.mark.parametrize(
    "text",
    [
        "411111111111",  # 12 digits
        "amount 1234 EUR",
        "2026-11-26 08:00:00",
        "tap 3f2c1a9e-1b7d-4c1e-9a7e-0d6c5b4a3f21",
        "4111  1111  1111  1111",  # double spaces are not card-number grouping
    ],
)
def test_other_numbers_are_kept(text: str) -> None:
    assert redact_pans(text) == text


@pytest.fixture
def logger(caplog: pytest.LogCaptureFixture) -> Iterator[logging.Logger]:
    caplog.set_level(logging.INFO)
    install_redaction()
    yield logging.getLogger("tests.redaction")
    for handler in logging.getLogger().handlers:
        for existing in list(handler.filters):
            if isinstance(existing, PanRedactingFilter):
                handler.removeFilter(existing)


def test_pan_in_an_argument_is_redacted(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    logger.info("card %s tapped at %s", PAN, "GARE")
    assert caplog.records[0].getMessage() == f"card {REDACTED} tapped at GARE"
    assert PAN not in caplog.text


def test_pan_as_an_int_or_in_a_mapping_is_redacted(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    logger.info("card %d", int(PAN))
    logger.info("body %(card)s", {"card": {"pan": "4111 1111 1111 1111"}})
    assert PAN not in caplog.text
    assert "1111 1111" not in caplog.text
    assert caplog.text.count(REDACTED) == 2


def test_pan_in_an_exception_traceback_is_redacted(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        raise ValueError(f"bad card {PAN}")
    except ValueError:
        logger.exception("while reading a card")
    assert "ValueError: bad card [REDACTED PAN]" in caplog.text
    assert PAN not in caplog.text


def test_a_broken_format_string_does_not_break_logging(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    logger.info("card %s %s", PAN)  # noqa: PLE1206 - the mismatch is what is tested
    assert PAN not in caplog.text
    assert REDACTED in caplog.text


def test_install_is_idempotent(logger: logging.Logger) -> None:
    install_redaction()
    for handler in logging.getLogger().handlers:
        assert sum(isinstance(f, PanRedactingFilter) for f in handler.filters) == 1


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_install_on_a_named_logger_covers_its_handlers() -> None:
    named = logging.getLogger("tests.redaction.named")
    handler = ListHandler()
    records = handler.records
    named.addHandler(handler)
    named.setLevel(logging.INFO)
    try:
        install_redaction(named)
        logging.getLogger("tests.redaction.named.child").warning("pan %s", PAN)
    finally:
        named.removeHandler(handler)
    assert [r.getMessage() for r in records] == [f"pan {REDACTED}"]
