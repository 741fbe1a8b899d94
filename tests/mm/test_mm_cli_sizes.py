"""The SIZE argument of kernlab vtop --range."""

from __future__ import annotations

import click
import pytest

from kernlab.cli.vtop_cmd import SIZE


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8192", 8192),
        ("0x2000", 8192),
        ("8K", 8192),
        ("8KiB", 8192),
        ("2M", 2 << 20),
        ("1g", 1 << 30),
        ("1.5K", 1536),
    ],
)
def test_sizes(text, value):
    assert SIZE.convert(text, None, None) == value


@pytest.mark.parametrize("text", ["lots", "4Q", "", "0xzz"])
def test_bad_sizes(text):
    with pytest.raises(click.BadParameter):
        SIZE.convert(text, None, None)
