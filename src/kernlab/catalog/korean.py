"""Korean particles chosen by how the word before them is read aloud.

A Korean sentence template writes the particle as the field's format spec, in the form used
after a consonant: ``{name:은}``, ``{name:이}``, ``{name:을}``, ``{name:과}``, ``{name:으로}``,
``{name:이며}``… The field is rendered, its last sound is found, and the right form follows it:
"rename은", "execve는", "execve로", "ext4_filemap_fault를", "42를" (사십이), "10을" (십).

The sound of the last character decides:
- a Hangul syllable: its final consonant (받침), if any; ㄹ counts as a vowel for (으)로;
- a digit: the Sino-Korean reading of the number's end (일 ㄹ, 이, 삼 ㅁ, 사, 오, 육 ㄱ,
  칠 ㄹ, 팔 ㄹ, 구; 십 ㅂ, 백 ㄱ, 천 ㄴ, 만 ㄴ, 억 ㄱ; 영 ㅇ);
- Latin letters: an acronym (all capitals: PID, VMA, RSS) is read letter by letter
  (엘, 엠, 엔, 알 end in a consonant); a word by English spelling rules as Korean borrows it
  (rename 리네임 ㅁ, file 파일 ㄹ, stack 스택 ㄱ, map 맵 ㅂ, fault 폴트, execve 엑섹브).
Closing punctuation, quotes and spaces at the end are skipped first; "%" is 퍼센트.
"""

from __future__ import annotations

__all__ = ["PARTICLES", "attach", "final_sound"]

# consonant-final form -> vowel-final form
PARTICLES: dict[str, str] = {
    "은": "는",
    "이": "가",
    "을": "를",
    "과": "와",
    "으로": "로",
    "이며": "며",
    "이고": "고",
    "이나": "나",
    "이라는": "라는",
    "이라고": "라고",
    "이든": "든",
    "이야": "야",
    "아": "야",
}

VOWEL = "vowel"
RIEUL = "rieul"  # ㄹ: a consonant, except before (으)로
CONSONANT = "consonant"

# "_" too: C names such as _IO_2_1_stdin_ are read by the word before their last underscore.
_SKIP_AT_END = " \t)]}>'\"`.,;:!?…’”_"
_DIGIT_SOUND = {
    "0": CONSONANT,  # 영
    "1": RIEUL,  # 일
    "2": VOWEL,  # 이
    "3": CONSONANT,  # 삼
    "4": VOWEL,  # 사
    "5": VOWEL,  # 오
    "6": CONSONANT,  # 육
    "7": RIEUL,  # 칠
    "8": RIEUL,  # 팔
    "9": VOWEL,  # 구
}
# A number ending in zeros is read by its last power of ten: 십, 백, 천, 만, 십만 … 억, 조.
_ZEROS_SOUND = {1: CONSONANT, 2: CONSONANT, 3: CONSONANT, 4: CONSONANT, 8: CONSONANT, 12: VOWEL}
_LETTER_NAME_SOUND = {"L": RIEUL, "M": CONSONANT, "N": CONSONANT, "R": RIEUL}  # 엘 엠 엔 알
_HEX_LETTER_SOUND = VOWEL  # 에이 비 씨 디 이 에프: every hex digit letter ends in a vowel
_SHORT_VOWELS = "aeiou"


def final_sound(text: str) -> str:
    """``"vowel"``, ``"rieul"`` (ㄹ) or ``"consonant"``: how ``text`` ends when read in Korean."""
    word = text.rstrip(_SKIP_AT_END)
    if not word:
        return VOWEL
    last = word[-1]
    if "\uac00" <= last <= "\ud7a3":
        jong = (ord(last) - 0xAC00) % 28
        if jong == 0:
            return VOWEL
        return RIEUL if jong == 8 else CONSONANT
    if last == "%":
        return VOWEL  # 퍼센트
    if last.isdigit():
        return _number_sound(word)
    if last.isascii() and last.isalpha():
        return _latin_sound(word)
    return VOWEL


def _number_sound(word: str) -> str:
    digits = ""
    for ch in reversed(word):
        if ch.isdigit():
            digits = ch + digits
        elif ch in ",_":
            continue
        else:
            break
    if word[: len(word) - len(digits)].lower().endswith("0x"):
        return _DIGIT_SOUND.get(digits[-1], VOWEL)  # hex read digit by digit: 0x52 … 이
    stripped = digits.rstrip("0")
    zeros = len(digits) - len(stripped)
    if not stripped:
        return CONSONANT  # 영
    if zeros == 0:
        return _DIGIT_SOUND[digits[-1]]
    for count in sorted(_ZEROS_SOUND, reverse=True):
        if zeros >= count:
            return _ZEROS_SOUND[count]
    return CONSONANT


def _latin_sound(word: str) -> str:
    # The last run of letters decides ("ext4_filemap_fault" -> "fault", "0x7ffd" -> hex).
    end = len(word)
    start = end
    while start > 0 and word[start - 1].isascii() and word[start - 1].isalpha():
        start -= 1
    token = word[start:end]
    before = word[:start]
    if before.lower().endswith("0x") or (before[-1:].isdigit() and all(c in "abcdefABCDEF" for c in token)):
        return _HEX_LETTER_SOUND
    if token.isupper() or len(token) == 1:
        return _LETTER_NAME_SOUND.get(token[-1].upper(), VOWEL)
    return _english_word_sound(token.lower())


_UNIT_WORDS = {"kib", "mib", "gib", "tib", "pib", "kb", "mb", "gb", "tb", "ms", "us", "ns", "sec"}
"""Units read by their Korean names: 메비바이트, 밀리초 … all end in a vowel."""


def _english_word_sound(w: str) -> str:
    if w in _UNIT_WORDS:
        return VOWEL
    if w.endswith("ng"):
        return CONSONANT  # 링
    if w.endswith("ck"):
        return CONSONANT  # 스택
    if len(w) >= 3 and w[-1] == "e" and w[-2] not in _SHORT_VOWELS and w[-3] in _SHORT_VOWELS:
        # A silent e: name 네임, file 파일, line 라인; page 페이지, code 코드, execve 엑섹브.
        return {"m": CONSONANT, "n": CONSONANT, "l": RIEUL}.get(w[-2], VOWEL)
    if w.endswith("le") and len(w) >= 3:
        return RIEUL  # table 테이블, handle 핸들
    last = w[-1]
    if last in "mn":
        return CONSONANT  # 엠, 인
    if last == "l":
        return RIEUL  # 파일, 풀
    if (
        last in "kpbt"
        and len(w) >= 2
        and w[-2] in _SHORT_VOWELS
        and (len(w) < 3 or w[-3] not in _SHORT_VOWELS)
    ):
        return CONSONANT  # 맵, 웹, 캣, 앳: a short vowel then a stop is read as 받침
    return VOWEL  # fault 폴트, read 리드, user 유저, stat … most English endings take 으


def attach(text: str, particle: str) -> str:
    """``text`` followed by ``particle`` (given in its after-consonant form) in the right form."""
    if particle not in PARTICLES:
        raise ValueError(f"unknown Korean particle {particle!r}; known: {', '.join(PARTICLES)}")
    sound = final_sound(text)
    if particle == "으로":
        return text + ("으로" if sound == CONSONANT else "로")
    return text + (particle if sound in (CONSONANT, RIEUL) else PARTICLES[particle])
