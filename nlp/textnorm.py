"""Social-text normalisation shared by training, scoring and de-duplication.

The model is trained on text normalised exactly as it is scored, so both go
through :func:`normalize_social`: URLs and ``@handles`` become placeholders
(they carry no sentiment and would otherwise waste the 64-96 token budget),
emoji and punctuation are kept (they carry a lot of it).
:func:`group_key` is the coarser form used to group near-copies (retweets,
the same text with another URL) so a train/dev split never puts one on each
side.
"""

from __future__ import annotations

import re
import unicodedata

URL_PLACEHOLDER = "http"
USER_PLACEHOLDER = "@user"

# The rules of normalize_social as (pattern, replacement), in order. The patterns are written so that Python's
# ``re`` and the Oniguruma engine of Hugging Face ``tokenizers`` read them alike: the scorer runs the same rules
# inside the Rust tokenizer (nlp.scorer.social_tokenizer), off the GIL, and a test checks both give the same ids.
# C0/C1 control characters other than whitespace (what binary garbage decodes to) become spaces.
CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
URL_PATTERN = r"(?i)(?:https?://|www\.)\S+"
HANDLE_PATTERN = r"(?<![\w@])@\w{1,30}"
WHITESPACE_PATTERN = r"\s+"
SOCIAL_RULES: tuple[tuple[str, str], ...] = (
    (CONTROL_PATTERN, " "),
    (URL_PATTERN, URL_PLACEHOLDER),
    (HANDLE_PATTERN, USER_PLACEHOLDER),
    (WHITESPACE_PATTERN, " "),
)

URL_RE = re.compile(URL_PATTERN)
HANDLE_RE = re.compile(HANDLE_PATTERN)
_WS_RE = re.compile(WHITESPACE_PATTERN)
_PUNCT_RE = re.compile(r"[^\w\s]", re.UNICODE)
_SOCIAL_RES = tuple((re.compile(pattern), repl) for pattern, repl in SOCIAL_RULES)


def normalize_social(text: str) -> str:
    """Apply :data:`SOCIAL_RULES` in order (control characters, URLs, handles, whitespace), then strip."""
    for rx, repl in _SOCIAL_RES:
        text = rx.sub(repl, text)
    return text.strip()


def group_key(text: str) -> str:
    """Key under which near-copies of one tweet collide: lower-cased, no RT prefix, URLs, handles or punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = URL_RE.sub(" ", text)
    text = re.sub(r"^\s*rt\b", " ", text)
    text = HANDLE_RE.sub(" ", text)
    text = _PUNCT_RE.sub(" ", text)
    return _WS_RE.sub(" ", text).strip()
