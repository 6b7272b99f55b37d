"""A safety net that keeps card numbers out of logs (PCI DSS 3.5.1 covers logs too).

The card module never logs a PAN; this filter is for the mistake someone makes anyway (a
request body logged whole, a PAN in a third-party exception). Anything shaped like a card
number is replaced: 13 or more digits in a row, or 13 to 19 digits separated by single
spaces or dashes as card numbers are written ("4111 1111 1111 1111"). It redacts without
checking Luhn, since a mistyped PAN is still card data; the price is that other long digit
runs (epoch milliseconds, 13+ digit ids) are redacted too, so log those in another form.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[REDACTED PAN]"

# Unbroken runs of 13 digits or more (a longer run may be a PAN with something glued on),
# or 13 to 19 digits with single spaces or dashes between them.
_PAN_LIKE = re.compile(r"(?<![0-9])(?:[0-9]{13,}|[0-9](?:[ -]?[0-9]){12,18})(?![0-9])")


def redact_pans(text: str) -> str:
    return _PAN_LIKE.sub(REDACTED, text)


class PanRedactingFilter(logging.Filter):
    """Rewrites each record so its message, exception text and stack carry no PAN.

    The message is formatted here and the arguments dropped, because a PAN can sit in an
    argument of any type (an int formats as digits too). Attach it to handlers: a filter on
    a logger does not see records propagated from its children.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A format string that does not match its arguments must not break logging (nor
            # leak them through the handler's error report): keep both parts, as text.
            message = f"{record.msg} (arguments: {record.args!r})"
        record.msg = redact_pans(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set, so filling it redacted here covers the
            # traceback of any standard formatter.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_pans(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_pans(record.stack_info)
        return True


def install_redaction(logger: logging.Logger | None = None) -> PanRedactingFilter:
    """Add the filter to every handler of `logger` (the root logger by default), once.

    Handlers added afterwards are not covered: call this after logging is configured.
    """
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        for existing in handler.filters:
            if isinstance(existing, PanRedactingFilter):
                break
        else:
            handler.addFilter(_FILTER)
    return _FILTER


_FILTER = PanRedactingFilter()
