"""Argument types and options shared by several ``wslab`` commands."""

from __future__ import annotations

import argparse

from wslab.app.variants import VARIANTS

REDIS_HELP = ("Redis to use: a redis:// URL, or 'fakeredis' (default: $REDIS_URL, "
              "else a redis-server child process, else fakeredis)")


def whole_number(minimum: int = 0, maximum: int | None = None):
    """An argparse type: an integer in ``[minimum, maximum]``."""
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError("must be zero or more" if minimum == 0
                                             else f"must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}")
        return number
    return parse


def port(value: str) -> int:
    """An argparse type: a TCP port number, 0 meaning any free port."""
    return whole_number(0, 65535)(value)


def add_variant(parser: argparse.ArgumentParser) -> None:
    """``--variant NAME``."""
    parser.add_argument("--variant", default="before", metavar="NAME",
                        help=f"stack variant: {', '.join(VARIANTS)} (default: before)")


def add_redis_url(parser: argparse.ArgumentParser) -> None:
    """``--redis-url URL``."""
    parser.add_argument("--redis-url", metavar="URL", help=REDIS_HELP)
