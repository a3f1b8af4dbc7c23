from __future__ import annotations

import pytest

from earshot.config import parse_config
from earshot.errors import ConfigError
from earshot.matching import BrandMatcher, alias_query
from earshot.models import Mention

from .conftest import raw


def _m(text: str, **kw) -> Mention:
    return Mention.from_raw(raw(1, text, **kw))


CFG = {
    "brands": [
        {"name": "Nordlys", "aliases": ["Nordlys Energy"], "competitors": ["Solvik"]},
        {"name": "Solvik", "query": "solvik -job*", "own": False},
    ],
    "topics": [{"name": "billing", "query": "bill* OR refund"}],
}


def test_alias_query_is_or_of_distinct_phrases():
    assert alias_query(["Acme", "ACME", 'Ac"me Inc', " "]) == '"Acme" OR "Ac me Inc"'


def test_brand_by_name_alias_case_and_accents():
    m = BrandMatcher.from_config(parse_config(CFG))
    assert m.match(_m("NORDLYS ENERGY overcharged my bill")) == (["Nordlys"], ["billing"])
    assert m.match(_m("nördlys is fine")) == (["Nordlys"], [])
    assert m.match(_m("nothing to see here")) is None


def test_competitor_tagged_and_query_negation_applies():
    m = BrandMatcher.from_config(parse_config(CFG))
    assert m.match(_m("switched from Nordlys to Solvik, refund pending")) == (["Nordlys", "Solvik"], ["billing"])
    assert m.match(_m("Solvik jobs open in Oslo")) is None
    assert m.own_brands() == ["Nordlys"]


def test_hashtag_matches_brand_word():
    m = BrandMatcher.from_config(parse_config(CFG))
    assert m.match(_m("power back on #Nordlys")) == (["Nordlys"], [])


def test_lang_field_marks_language_needed():
    cfg = parse_config({"brands": [{"name": "Acme", "query": "acme lang:de"}]})
    assert BrandMatcher.from_config(cfg).needs_language
    assert not BrandMatcher.from_config(parse_config(CFG)).needs_language


def test_bad_brand_query_names_the_key_path():
    cfg = parse_config({"brands": [{"name": "Acme", "query": "acme AND (refund"}]})
    with pytest.raises(ConfigError, match=r"brands\[0\]\.query: .*column"):
        BrandMatcher.from_config(cfg)
