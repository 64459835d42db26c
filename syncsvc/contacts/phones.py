"""Keys for matching people by phone number or email address, and for a profile URL.

``normalize_phone`` gives E.164 (``+491701234567``) when the number can be understood, else a
fallback key of its digits. It never raises. An empty key means "nothing to match on" (the input
had no digits, e.g. a Google test contact's ``TEL:mobile``): callers must not match on it.
"""

from __future__ import annotations

import os
import re

import phonenumbers

_LOCALE_VARS = ("LC_ALL", "LC_TELEPHONE", "LANG")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}_([A-Za-z]{2})(?:[.@]|$)")
_NON_DIGITS = re.compile(r"\D")


def normalize_phone(raw: str, region: str | None) -> str:
    """E.164 if phonenumbers can parse it as a possible number, else the digits (leading + kept).

    ``region`` ("DE", "US") is used for numbers written without a country code; with None only
    international numbers (``+49 ...``, ``0049 ...``) become E.164.
    """
    text = raw.strip()
    if text[:4].lower() == "tel:":
        text = text[4:]
    number = _parse(text, region.upper() if region else None)
    if number is not None:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _fallback_key(text)


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    candidates = [text]
    if region is None and text.startswith("00"):
        candidates.append("+" + text[2:])  # 0049 ... is +49 ... from (almost) anywhere
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except (phonenumbers.NumberParseException, ValueError, TypeError):
            continue
        if phonenumbers.is_possible_number(number):
            return number
    return None


def _fallback_key(text: str) -> str:
    digits = _NON_DIGITS.sub("", text)
    digits = "".join(str(int(d)) for d in digits)  # other scripts' digits (٠١٢) to ASCII
    return "+" + digits if text.startswith("+") and digits else digits


def default_region() -> str | None:
    """The country of the user's locale (de_DE.UTF-8 -> "DE"), None if unknown (C, POSIX)."""
    for var in _LOCALE_VARS:
        value = os.environ.get(var, "")
        if not value:
            continue
        match = _LOCALE.match(value)
        if match is None:
            return None  # C, POSIX, C.UTF-8: no country
        region = match.group(1).upper()
        return region if region in phonenumbers.SUPPORTED_REGIONS else None
    return None


def normalize_email(raw: str) -> str:
    """The matching key of an email address: stripped and lower-cased."""
    return raw.strip().lower()


def normalize_url(url: str) -> str:
    """The profile URL as an identity: no scheme, no ``www.``, no query or trailing slash,
    lower-case. ``https://www.linkedin.com/in/Jane-Doe/`` → ``linkedin.com/in/jane-doe``."""
    text = url.strip()
    for cut in ("?", "#"):
        text = text.split(cut, 1)[0]
    low = text.lower()
    for scheme in ("https://", "http://"):
        if low.startswith(scheme):
            low = low[len(scheme) :]
    for prefix in ("www.", "m."):
        if low.startswith(prefix):
            low = low[len(prefix) :]
    # country subdomains (de.linkedin.com) are the same profile
    host, sep, rest = low.partition("/")
    if host.endswith(".linkedin.com"):
        host = "linkedin.com"
    return (host + sep + rest).rstrip("/")
