"""kb's own error type (kept free of heavy imports: the search fast path uses it)."""


class KbError(Exception):
    """An error kb reports to the user as a message (never a traceback).

    ``exit_code`` is 1 for bad data and failed checks, 2 for usage errors.
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
