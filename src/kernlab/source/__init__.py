"""Readers for what the kernel says about its own source: BTF type information."""
