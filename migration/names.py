"""Case-insensitive keys for ARM names and IDs, folded the way ARM compares them.

ARM (.NET) compares names with ``StringComparer.OrdinalIgnoreCase``: each UTF-16 code unit is upper-cased with
its *simple* Unicode mapping and the results are compared ordinally (dotnet/runtime
``System.Globalization.OrdinalCasing``: ``ToUpper`` per code unit from ICU's ``u_toupper``, except that
U+0131 dotless i and U+017F long s are not mapped to ASCII; outside the BMP only a few scripts are mapped).
Python's ``str.lower()`` is not that: it maps U+212A KELVIN SIGN to ``k`` (so "Kitchen" spelled with a Kelvin
sign would equal "kitchen", a false collision), and full case mappings change lengths (``"ß".upper()`` is
``"SS"``). :func:`arm_key` folds exactly as ARM compares: two names get the same key if and only if ARM treats
them as the same name. ASCII stays lower-case, so keys of ASCII names (nearly all) are what they always were.
"""

from __future__ import annotations

# Supplementary-plane lower-case ranges that .NET's ordinal casing maps (OrdinalCasing.ToUpperSurrogate):
# Deseret, Osage, Old Hungarian, Warang Citi, Medefaidrin, Adlam. Nothing else outside the BMP is folded.
_SUPPLEMENTARY = (
    (0x10428, 0x1044F),
    (0x104D8, 0x104FB),
    (0x10CC0, 0x10CF2),
    (0x118C0, 0x118DF),
    (0x16E60, 0x16E7F),
    (0x1E922, 0x1E943),
)
_NOT_TO_ASCII = {"\u0131", "\u017f"}  # .NET keeps these: mapping them would make non-ASCII equal ASCII


def simple_upper(char: str) -> str:
    """The simple (one-to-one) upper-case mapping of one character, as .NET's ordinal casing applies it."""
    if char.isascii() or char in _NOT_TO_ASCII:
        return char.upper() if char.isascii() else char
    point = ord(char)
    if point > 0xFFFF and not any(low <= point <= high for low, high in _SUPPLEMENTARY):
        return char
    upper = char.upper()
    if len(upper) == 1:
        return upper
    # A full mapping that expands (e.g. U+1F80 -> two characters): the simple mapping, where there is one, is the
    # title-case character (U+1F88); letters like U+00DF have none and stay as they are.
    title = char.title()
    return title if len(title) == 1 else char


def arm_key(text: str) -> str:
    """A comparison key equal for exactly the strings ARM considers the same name (ordinal, case-insensitive)."""
    if text.isascii():
        return text.lower()
    return "".join(c.lower() if c.isascii() else simple_upper(c) for c in text)
