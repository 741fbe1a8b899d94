from collections.abc import Callable

def known_texts(
    records: bytes,
    code: bytes,
    base: int,
    plain: dict[bytes, str],
    heads: dict[int, str],
    targets: dict[int, str],
    name_target: Callable[[int], str],
    mask: int,
    /,
) -> tuple[list[int], list[bytes], list[str | None]]: ...
