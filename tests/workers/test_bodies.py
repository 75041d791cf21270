"""Body decoding: JSON and PHP-style nested form data; malformed input is a 400-kind error."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.bodies import FORM, JSON, MAX_DEPTH, MAX_FORM_FIELDS, _deeper_than, decode, form_pairs, media_type
from workers.errors import PayloadError


def test_nested_form_keys() -> None:
    """a[b]=1, k[]=x, k[]=y and plain keys decode to nested mappings and lists."""
    body = b"call_id=abc&custom_channel_vars[account_id]=acc&custom_channel_vars[owner_id]=own&k[]=x&k[]=y&e="
    assert decode(body, FORM) == {
        "call_id": "abc",
        "custom_channel_vars": {"account_id": "acc", "owner_id": "own"},
        "k": ["x", "y"],
        "e": "",
    }


@pytest.mark.parametrize(
    "body", [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b"[" * 100 + b"]" * 100, b'{"a":' * 40 + b"1" + b"}" * 40]
)
def test_bad_json(body: bytes) -> None:
    """Invalid, non-object and deeply nested JSON are malformed."""
    with pytest.raises(PayloadError) as info:
        decode(body, JSON)
    assert info.value.malformed


def test_an_object_body_is_taken_as_it_is_within_the_same_depth_bound() -> None:
    """A row the poller decoded (an envelope's object body) is not decoded again, whatever the content
    type says, and is held to the depth a JSON body is."""
    row: dict[str, object] = {"row": {"callid": "1"}}
    assert decode(row, JSON) is row and decode(row, None) is row
    deep: dict[str, object] = {"a": 1}
    for _ in range(MAX_DEPTH - 1):
        deep = {"a": deep}
    assert decode(deep, JSON) is deep
    with pytest.raises(PayloadError, match="deeper") as info:
        decode({"a": deep}, JSON)
    assert info.value.malformed


def depth(value: object) -> int:
    """Containers nested in ``value``, itself one level (the plain recursive definition)."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return 1 + max((depth(c) for c in children if isinstance(c, dict | list)), default=0)


json_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
    max_leaves=40,
)


@given(st.dictionaries(st.text(max_size=2), json_values, max_size=4), st.integers(min_value=0, max_value=8))
def test_deeper_than_says_what_the_depth_says(value: dict[str, object], levels: int) -> None:
    assert _deeper_than(value, levels) == (depth(value) > levels)


def test_media_type() -> None:
    """Parameters are dropped and +json suffixes count as JSON."""
    assert media_type("application/json; charset=utf-8") == JSON
    assert media_type("application/cloudevents+json") == JSON
    assert media_type("Application/X-WWW-Form-Urlencoded") == FORM
    assert media_type(None) == ""


def test_unsupported_content_type() -> None:
    """A type we cannot read is malformed."""
    with pytest.raises(PayloadError, match="text/plain"):
        decode(b"x", "text/plain")


def test_form_limits() -> None:
    """A form of MAX_FORM_FIELDS fields is read; one more field, or a key nested past MAX_DEPTH, is malformed."""
    fields = "&".join(f"k{i}=v" for i in range(MAX_FORM_FIELDS))
    assert len(decode(fields, FORM)) == MAX_FORM_FIELDS
    assert decode("a" + "[b]" * (MAX_DEPTH - 1) + "=1", FORM)
    for bomb in (fields + "&one=more", "a" + "[b]" * MAX_DEPTH + "=1"):
        with pytest.raises(PayloadError, match=str(MAX_FORM_FIELDS) if "one" in bomb else "deeper") as info:
            decode(bomb, FORM)
        assert info.value.malformed


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab=&%+2F41e\u00e9[] ", max_size=40))
def test_form_fields_split_as_parse_qsl_does(text: str) -> None:
    """``form_pairs`` is ``parse_qsl`` (blank values kept, strict) on any text: the same pairs,
    percent and plus decoding included, or malformed where it raises."""
    try:
        expected = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        with pytest.raises(PayloadError, match="bad query field"):
            form_pairs(text)
        return
    assert form_pairs(text) == expected
