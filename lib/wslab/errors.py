"""The one exception type the command line turns into a single error line."""


class WslabError(Exception):
    """A user-facing failure: bad option, missing file, port in use, Redis down.

    The CLI prints ``wslab: error: <message>`` and exits with :attr:`exit_code`.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
