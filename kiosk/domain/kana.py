"""On-screen kana keyboard and number pad logic: pure text editing, no widgets.

The keyboard is the 五十音 grid residents know from paper forms; the ゛/゜ keys turn the
last character into its voiced / half-voiced form (か → が, は → ぱ), and the 小 key makes
it small (つ → っ), as on a phone.
"""

from __future__ import annotations

from datetime import date

# Rows of the 五十音 grid, read right-to-left on screen: each string is one column.
GOJUON: tuple[str, ...] = (
    "あいうえお", "かきくけこ", "さしすせそ", "たちつてと", "なにぬねの",
    "はひふへほ", "まみむめも", "や・ゆ・よ", "らりるれろ", "わ・を・ん",
)
DAKUTEN = "゛"
HANDAKUTEN = "゜"
SMALL = "小"
LONG = "ー"
SPACE = "\u3000"

_VOICED = dict(zip("かきくけこさしすせそたちつてとはひふへほう",
                   "がぎぐげござじずぜぞだぢづでどばびぶべぼゔ", strict=True))
_SEMI = dict(zip("はひふへほ", "ぱぴぷぺぽ", strict=True))
_SMALL = dict(zip("あいうえおつやゆよわ", "ぁぃぅぇぉっゃゅょゎ", strict=True))


def _cycle(last: str, table: dict[str, str]) -> str | None:
    if last in table:
        return table[last]
    for plain, changed in table.items():
        if last == changed:
            return plain
    return None


# The residence card (在留カード) spells a name in Latin capitals: these keys, and the
# marks such names carry (space, hyphen, apostrophe, comma between family and given name).
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LATIN_MARKS = (" ", "-", "'", ",", ".")
_KATA_SHIFT = ord("ア") - ord("あ")


def katakana(text: str) -> str:
    """ひらがな → カタカナ (other characters unchanged)."""
    return "".join(chr(ord(c) + _KATA_SHIFT) if "ぁ" <= c <= "ゖ" else c for c in text)


def hiragana(text: str) -> str:
    return "".join(chr(ord(c) - _KATA_SHIFT) if "ァ" <= c <= "ヶ" else c for c in text)


def press(text: str, key: str, max_len: int = 60) -> str:
    """The text after one key press; keys that do not apply leave it unchanged."""
    if key in (DAKUTEN, HANDAKUTEN, SMALL):
        if not text:
            return text
        table = {DAKUTEN: _VOICED, HANDAKUTEN: _SEMI, SMALL: _SMALL}[key]
        last = text[-1]
        changed = _cycle(hiragana(last), table)
        if changed and last != hiragana(last):   # katakana stays katakana (カ → ガ)
            changed = katakana(changed)
        return text[:-1] + changed if changed else text
    if key == "・" or len(text) >= max_len:
        return text
    return text + key


def backspace(text: str) -> str:
    return text[:-1]


def date_from_digits(digits: str) -> str | None:
    """'19850307' → '1985-03-07', or None while incomplete or impossible."""
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
    except ValueError:
        return None


def digits_from_date(iso: str) -> str:
    return iso.replace("-", "")
