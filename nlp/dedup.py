"""Near-duplicate detection: canonical URL, exact content hash, MinHash LSH on word shingles.

Syndicated press releases, retweets and copy-pasted complaints are linked to
the first mention seen with the same content (``duplicate_of``) so counts
used by alerts and reports can leave them out. Three checks, cheapest first:

1. the canonical URL (:func:`nlp.urls.canonical_url`) was seen — unless both
   texts are long and clearly different (comments that share a thread URL);
2. the same normalised text (URLs, handles, a leading ``RT``, punctuation and
   case removed) was seen — retweets and copies with another link;
3. a MinHash LSH (datasketch) query on word 3-shingles finds a mention whose
   estimated Jaccard similarity is at least ``threshold``.

Only mentions published within ``window`` of each other are linked; older
entries are evicted as newer ones arrive, so memory stays bounded by the
window. The detector never imports the store: :meth:`seed` takes the recently
stored mentions (oldest first) from whoever owns the store.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from earshot.errors import ConfigError
from earshot.models import Mention, as_utc
from nlp.textnorm import group_key
from nlp.urls import canonical_url

log = logging.getLogger(__name__)

# Below this many words a text is too short for near-duplicate evidence ("great flight!"): exact matches only.
MIN_WORDS_NEAR = 6
# Two mentions sharing a URL but this dissimilar are different contents (e.g. replies in one thread).
URL_DIFFERENT_BELOW = 0.3


@dataclass
class _Entry:
    id: str
    root: str
    published_at: datetime
    minhash: Any | None
    keys: tuple[str, ...]


def shingles(words: list[str], k: int = 3) -> set[str]:
    """Word ``k``-shingles; a text shorter than ``k`` words gives its words joined as one shingle."""
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


class NearDuplicateDetector:
    """:class:`earshot.pipeline.Deduplicator`: returns the first-seen id a mention duplicates, else ``None``."""

    def __init__(
        self,
        *,
        threshold: float = 0.8,
        window: timedelta = timedelta(days=3),
        num_perm: int = 64,
        shingle_size: int = 3,
        max_chars: int = 20_000,
    ) -> None:
        if not 0 < threshold <= 1:
            raise ConfigError(f"nlp.dedup_threshold {threshold!r} must be in (0, 1]")
        if window <= timedelta(0):
            raise ConfigError(f"nlp.dedup_window {window!r} must be positive, e.g. '3d'")
        self.threshold = threshold
        self.window = window
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.max_chars = max_chars
        self._lsh: Any = None
        self._template: Any = None
        self._entries: dict[str, _Entry] = {}
        self._by_key: dict[str, str] = {}  # "url:…" / "text:…" → first-seen mention id
        self._heap: list[tuple[datetime, str]] = []
        self._newest: datetime | None = None

    # public ----------------------------------------------------------------------------------------------------
    def seed(self, mentions: Iterable[Mention]) -> None:
        """Remember stored mentions (oldest first) so reposts of them are linked; their own links are kept."""
        n = 0
        for m in mentions:
            self._remember(m, root=m.duplicate_of or m.id)
            n += 1
        log.debug("event=dedup_seeded n=%d", n)

    def check(self, mention: Mention) -> str | None:
        """Id of the first-seen mention ``mention`` duplicates (and remember it either way)."""
        if mention.id in self._entries:  # seen before (a re-check): answer what was decided then
            entry = self._entries[mention.id]
            return entry.root if entry.root != mention.id else None
        self._evict(as_utc(mention.published_at))
        words, url_key, text_key = self._keys(mention)
        minhash = self._minhash(words) if len(words) >= MIN_WORDS_NEAR else None
        dup = self._find(mention, url_key, text_key, minhash)
        root = self._entries[dup].root if dup else mention.id
        self._insert(mention, root, words, url_key, text_key, minhash)
        return root if dup else None

    def __len__(self) -> int:
        return len(self._entries)

    # internals -------------------------------------------------------------------------------------------------
    def _keys(self, m: Mention) -> tuple[list[str], str | None, str | None]:
        text = f"{m.title or ''} {m.text or ''}"[: self.max_chars]
        words = group_key(text).split()
        url = m.canonical_url or (canonical_url(m.url) if m.url else None)
        url_key = f"url:{url}" if url else None
        text_key = "text:" + hashlib.blake2b(" ".join(words).encode(), digest_size=12).hexdigest() if words else None
        return words, url_key, text_key

    def _within(self, m: Mention, entry: _Entry) -> bool:
        return abs(as_utc(m.published_at) - entry.published_at) <= self.window

    def _find(self, m: Mention, url_key: str | None, text_key: str | None, minhash: Any | None) -> str | None:
        if url_key and url_key in self._by_key:
            entry = self._entries.get(self._by_key[url_key])
            if entry is not None and self._within(m, entry):
                different = (
                    minhash is not None
                    and entry.minhash is not None
                    and minhash.jaccard(entry.minhash) < URL_DIFFERENT_BELOW
                )
                if not different:
                    return entry.id
        if text_key and text_key in self._by_key:
            entry = self._entries.get(self._by_key[text_key])
            if entry is not None and self._within(m, entry):
                return entry.id
        if minhash is None or self._lsh is None:
            return None
        best: _Entry | None = None
        for key in self._lsh.query(minhash):
            entry = self._entries.get(key)
            if entry is None or entry.minhash is None or not self._within(m, entry):
                continue
            if minhash.jaccard(entry.minhash) >= self.threshold and (
                best is None or entry.published_at < best.published_at
            ):
                best = entry
        return best.id if best else None

    def _minhash(self, words: list[str]) -> Any:
        from datasketch import LeanMinHash, MinHash

        if self._template is None:
            # Permutations are drawn once; every MinHash shares them (drawing them per text dominates the cost).
            self._template = MinHash(num_perm=self.num_perm, seed=1)
        mh = MinHash(
            num_perm=self.num_perm, seed=1, permutations=self._template.permutations, scheme=self._template.scheme
        )
        mh.update_batch([s.encode("utf-8") for s in shingles(words, self.shingle_size)])
        return LeanMinHash(mh)

    def _insert(
        self, m: Mention, root: str, words: list[str], url_key: str | None, text_key: str | None, minhash: Any | None
    ) -> None:
        published = as_utc(m.published_at)
        keys = tuple(k for k in (url_key, text_key) if k)
        entry = _Entry(m.id, root, published, minhash, keys)
        self._entries[m.id] = entry
        for k in keys:
            self._by_key.setdefault(k, m.id)
        if minhash is not None:
            if self._lsh is None:
                from datasketch import MinHashLSH

                self._lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
            self._lsh.insert(m.id, minhash, check_duplication=False)
        heapq.heappush(self._heap, (published, m.id))
        if self._newest is None or published > self._newest:
            self._newest = published

    def _remember(self, m: Mention, root: str) -> None:
        if m.id in self._entries:
            return
        self._evict(as_utc(m.published_at))
        words, url_key, text_key = self._keys(m)
        minhash = self._minhash(words) if len(words) >= MIN_WORDS_NEAR else None
        self._insert(m, root, words, url_key, text_key, minhash)

    def _evict(self, now: datetime) -> None:
        newest = max(now, self._newest) if self._newest else now
        horizon = newest - self.window
        while self._heap and self._heap[0][0] < horizon:
            _, mid = heapq.heappop(self._heap)
            entry = self._entries.pop(mid, None)
            if entry is None:
                continue
            for k in entry.keys:
                if self._by_key.get(k) == mid:
                    del self._by_key[k]
            if entry.minhash is not None and self._lsh is not None:
                self._lsh.remove(mid)
