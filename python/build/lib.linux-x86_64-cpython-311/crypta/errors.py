"""The exceptions crypta raises. Every one is a :class:`CryptaError` with ``.code`` (the C++
SDK's error code name, e.g. ``"unauthenticated"``) and a message that says what failed."""

import builtins


class CryptaError(Exception):
    """Base class of every crypta error."""

    code: str = "error"


class VerificationError(CryptaError):
    """The service was refused: its attestation did not verify or did not meet your
    expectations (measurement, TEE, debug, TCB, policy...). Nothing was sent to it."""


class UnavailableError(CryptaError, builtins.ConnectionError):
    """A server could not be reached, timed out or is overloaded (HTTP 429/5xx outside the
    encrypted channel)."""


class ResponseError(CryptaError):
    """A response did not authenticate: tampered with, replayed, or the answer to another
    request. Its content was not used."""


class ServerError(CryptaError):
    """The model server (inside the TEE) answered an error, e.g. the model failed."""


class InvalidArgumentError(CryptaError, ValueError):
    """Malformed input: a bad option, a tensor the model does not take (the model server's
    4xx answers are reported this way too, with its message)."""


class PermissionDeniedError(CryptaError, PermissionError):
    """Authenticated but not allowed, e.g. a key release refused by policy."""


class UnauthenticatedError(CryptaError):
    """Missing or bad credentials (API token), or evidence the key broker did not accept."""


class NotFoundError(CryptaError, LookupError):
    """The tenant, key, model or object does not exist."""


class AlreadyExistsError(CryptaError):
    """The object exists already."""


class FailedPreconditionError(CryptaError):
    """Well-formed but not acceptable now, e.g. not inside a TEE, or a key that does not
    rotate as often as asked."""


class ResourceExhaustedError(CryptaError):
    """A size cap or rate limit was hit."""


# Roles the native module raises by (python/src/crypta_module.cc, ErrorRole).
ROLES = {
    "error": CryptaError,
    "verification": VerificationError,
    "unavailable": UnavailableError,
    "response": ResponseError,
    "server": ServerError,
    "invalid_argument": InvalidArgumentError,
    "permission_denied": PermissionDeniedError,
    "unauthenticated": UnauthenticatedError,
    "not_found": NotFoundError,
    "already_exists": AlreadyExistsError,
    "failed_precondition": FailedPreconditionError,
    "resource_exhausted": ResourceExhaustedError,
}
