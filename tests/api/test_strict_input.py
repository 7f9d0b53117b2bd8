"""The guard on request bytes, without a server: UTF-8 query strings, JSON nesting counted outside strings."""

from __future__ import annotations

import pytest

from briefqa.api.strict_input import MAX_DEPTH, check_json_body, check_query
from briefqa.errors import InputError


@pytest.mark.parametrize("raw", [b"q=%FF", b"q=ok&k=%C3", b"%FE=1", b"q=\xff"])
def test_a_query_string_that_is_not_utf8_is_refused(raw: bytes) -> None:
    with pytest.raises(InputError, match="not UTF-8"):
        check_query(raw)


@pytest.mark.parametrize("raw", [b"", b"q=caf%C3%A9+au+lait", b"q=%E2%9C%93&k=3", b"q"])
def test_a_query_string_in_utf8_passes(raw: bytes) -> None:
    check_query(raw)


def test_nesting_is_counted_outside_strings_only() -> None:
    check_json_body(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    check_json_body(('{"q": "' + "[{" * 500 + '\\" ]"}').encode())
    with pytest.raises(InputError, match=f"more than {MAX_DEPTH} deep"):
        check_json_body(b"[" * (MAX_DEPTH + 1))
    with pytest.raises(InputError, match=f"more than {MAX_DEPTH} deep"):
        check_json_body(b'{"a": ' * (MAX_DEPTH + 1))
