"""Is a source text at all? What its first bytes say, and the one error for a source that is not.

A compressed format other than gzip (which is read) is named by its magic bytes;
other data is binary when too much of its start is no text. Logs with some damage
(a few NUL bytes, stray Latin-1) stay text.
"""

from __future__ import annotations

from wslab.errors import WslabError

#: How much of a source's start :func:`binary_kind` looks at.
SNIFF_BYTES = 8192
#: The share of bytes that are neither text nor UTF-8 above which data is binary.
BINARY_SHARE = 0.30
#: Compressed formats other than gzip (which is read), by their magic bytes.
COMPRESSED = {
    b"\xfd7zXZ\x00": ("xz", "xz -dk"),
    b"BZh": ("bzip2", "bunzip2 -k"),
    b"\x28\xb5\x2f\xfd": ("zstd", "zstd -d"),
    b"PK\x03\x04": ("zip", "unzip"),
    b"7z\xbc\xaf\x27\x1c": ("7z", "7z x"),
}
#: The command that decompresses each :func:`binary_kind` of :data:`COMPRESSED`.
_DECOMPRESS = {f"{name}-compressed data": command for name, command in COMPRESSED.values()}
#: Control bytes that text holds: tab, newlines, form feed and the escape of colour codes.
_TEXT_CONTROLS = b"\t\n\r\x0b\x0c\x1b"
_CONTROLS = bytes(b for b in [*range(0x20), 0x7F] if b not in _TEXT_CONTROLS)
#: Exit code of a file that holds nothing to analyze.
NOTHING_EXIT = 1


def binary_kind(head: bytes) -> str | None:
    """What the start of a source looks like when it is not text, else ``None``.

    A compressed format other than gzip is named by its magic bytes; other data is
    binary when more than :data:`BINARY_SHARE` of its first :data:`SNIFF_BYTES`
    bytes are control bytes (tab, newlines and the escape of colour codes aside)
    or bytes that are no UTF-8.
    """
    for magic, (name, _) in COMPRESSED.items():
        if head.startswith(magic):
            return f"{name}-compressed data"
    sample = head[:SNIFF_BYTES]
    if not sample:
        return None
    controls = len(sample) - len(sample.translate(None, _CONTROLS))
    undecodable = sample.decode("utf-8", "replace").count("\ufffd")
    if sample[-3:].decode("utf-8", "ignore") != sample[-3:].decode("utf-8", "replace"):
        undecodable -= 1  # a character cut by the end of the sample
    share = (controls + max(0, undecodable)) / len(sample)
    return f"binary data ({share:.0%} of its first bytes are no text)" if share > BINARY_SHARE else None


def not_text(name: str, kind: str) -> WslabError:
    """The error (exit code 1) for source *name*, whose start :func:`binary_kind` called *kind*:
    not a text log, with the command that decompresses it when it is compressed."""
    hint = f"; decompress it first: {_DECOMPRESS[kind]} {name}" if kind in _DECOMPRESS else ""
    return WslabError(
        f"{name}: {kind}, not a text log (only plain and gzip logs are read{hint})", exit_code=NOTHING_EXIT
    )
