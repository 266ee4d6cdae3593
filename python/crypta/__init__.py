"""crypta — call confidential AI models from Python.

The protocol and every security check live in crypta's C++ client SDK; this package binds
it (``crypta._native``). Three entry points:

* :func:`verify_service` — verify a crypta-runtime's attestation (fresh nonce, evidence
  against pinned vendor roots, report_data binding its OHTTP key, your expectations) and get
  a :class:`VerifiedService` that sends requests only that TEE can read::

      svc = crypta.verify_service("http://10.0.0.5:8443",
                                  expected_measurements=["9f2c..."])
      out = svc.predict("resnet", {"input": image})   # dict of numpy arrays
      for token in svc.generate_stream("tiny_gpt", "Hello"):   # streamed text generation
          print(token, end="")

* :class:`Platform` — the control plane's admin side: seal and push models
  (:meth:`Platform.encrypt_model`), seal data for workloads, list models, keys, audit.
* :class:`TEEEnvironment` — inside a TEE: load sealed models and data by attestation.

Errors are :class:`CryptaError` subclasses (see :mod:`crypta.errors`).
"""

from __future__ import annotations

import base64
import datetime
import json as _json
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _native
from .errors import (
    AlreadyExistsError,
    CryptaError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    ResponseError,
    ServerError,
    UnauthenticatedError,
    UnavailableError,
    VerificationError,
    ROLES as _ROLES,
)

_native.set_error_classes(dict(_ROLES))

__all__ = [
    "verify_service", "VerifiedService", "GenerationStream", "Receipt", "verify_receipt",
    "EncryptedRequest", "Response", "Platform", "SealedData", "TEEEnvironment", "CryptaError",
    "VerificationError", "UnavailableError", "ResponseError", "ServerError",
    "InvalidArgumentError", "PermissionDeniedError", "UnauthenticatedError", "NotFoundError",
    "AlreadyExistsError", "FailedPreconditionError", "ResourceExhaustedError",
]
__version__ = "0.1.0"

PathOrText = Union[str, "os.PathLike[str]"]
_MAX_FILE = 1 << 20


def _read(value: Any, what: str) -> str:
    """Text given directly, or read from a path (os.PathLike, or a str naming a file)."""
    if value is None:
        return ""
    if isinstance(value, os.PathLike) or (
        isinstance(value, str) and "\n" not in value and len(value) < 4096
        and os.path.isfile(value)):
        path = os.fspath(value)
        if os.path.getsize(path) > _MAX_FILE:
            raise InvalidArgumentError(f"{what}: {path} is larger than 1 MiB")
        with open(path, "r", encoding="utf-8") as f:
            return f.read()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise InvalidArgumentError(f"{what}: want text, bytes or a path, got {type(value).__name__}")


def _read_json_or_text(value: Any, what: str) -> str:
    if isinstance(value, (dict, list)):
        return _json.dumps(value)
    return _read(value, what)


def _prompt(prompt: Any) -> str:
    if not isinstance(prompt, str):
        raise InvalidArgumentError(f"prompt: want a str, got {type(prompt).__name__}")
    return prompt


def _max_tokens(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidArgumentError(f"max_tokens: want an int, got {type(n).__name__}")
    if not 1 <= n <= 1 << 31:
        raise InvalidArgumentError(f"max_tokens: want a positive int, got {n}")
    return n


class Response:
    """A decrypted HTTP response from inside the TEE."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, raw: Mapping[str, Any]):
        self.status: int = raw["status"]
        self.headers: Dict[str, str] = raw["headers"]
        self.body: bytes = raw["body"]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return _json.loads(self.body)

    def raise_for_status(self) -> "Response":
        if not self.ok:
            text = self.body[:512].decode("utf-8", "replace")
            cls = InvalidArgumentError if self.status < 500 else ServerError
            err = cls(f"the service answered HTTP {self.status}: {text}")
            err.code = "invalid_argument" if self.status < 500 else "internal"
            raise err
        return self

    def __repr__(self) -> str:
        return f"<crypta.Response {self.status}, {len(self.body)} bytes>"


class EncryptedRequest:
    """One request sealed to the service's attested OHTTP key (RFC 9458). ``data`` is what
    travels (e.g. to POST /v1/ohttp, or base64 in ``/predict``'s ``encrypted_input``); only
    this object can open the answer: :meth:`decrypt`."""

    __slots__ = ("_native",)

    def __init__(self, native: Any):
        self._native = native

    @property
    def data(self) -> bytes:
        return self._native.data

    def decrypt(self, response: bytes) -> Response:
        """Opens the encapsulated response to this request. Raises :class:`ResponseError`
        when it does not authenticate (tampered, replayed, another request's answer)."""
        return Response(self._native.decrypt(bytes(response)))

    def predict_body(self) -> Dict[str, str]:
        """The JSON body of the runtime's ``POST /predict``: ``{"encrypted_input": ...}``."""
        return {"encrypted_input": base64.b64encode(self.data).decode("ascii")}

    def read_predict_result(self, body: Union[Mapping[str, Any], str, bytes]) -> Response:
        """Opens ``POST /predict``'s answer ``{"success": true, "encrypted_result": ...}``."""
        doc = _json.loads(body) if isinstance(body, (str, bytes)) else body
        if not isinstance(doc, Mapping) or not doc.get("success"):
            reason = doc.get("error") if isinstance(doc, Mapping) else None
            raise ServerError(f"/predict failed: {reason or 'no encrypted_result'}")
        result = doc.get("encrypted_result")
        if not isinstance(result, str):
            raise InvalidArgumentError('/predict answer: "encrypted_result" must be a string')
        return self.decrypt(base64.b64decode(result, validate=True))


class Receipt:
    """The runtime's signed receipt of one prediction (issue 17): a JWS by the receipt key
    its attestation binds, over the encrypted request, the response, the model, the
    measurement and the attestation. The C++ SDK verified it before the answer was returned;
    keep :meth:`bundle` to prove the answer later (:func:`verify_receipt`, or
    ``crypta receipt verify FILE``)."""

    __slots__ = ("_native",)

    def __init__(self, native: Any):
        self._native = native

    @property
    def jws(self) -> str:
        """The receipt itself, JWS compact serialization (RFC 7515)."""
        return self._native.jws

    @property
    def claims(self) -> Dict[str, Any]:
        """The verified payload: alg, kid, request_digest, response_digest, model_digest,
        measurement, attestation_digest, workload, time, sequence."""
        return self._native.claims()

    def bundle(self) -> str:
        """The receipt bundle, JSON text (what ``crypta predict --receipt FILE`` writes):
        {"receipt", "attestation", "request_b64", "response_b64"}. It holds the decrypted
        response: store it as you would the answer."""
        return self._native.bundle().decode("utf-8")

    def save(self, path: PathOrText) -> None:
        """Writes :meth:`bundle` to ``path`` (mode 0600, as the CLI does)."""
        data = self._native.bundle()
        fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)

    def __repr__(self) -> str:
        return f"<crypta.Receipt {self.jws[:24]}…>"


class GenerationStream:
    """A streamed text generation (:meth:`VerifiedService.generate_stream`): iterate it for
    each token's text as the runtime produces it, decrypted and authenticated chunk by chunk
    (chunked OHTTP)::

        stream = svc.generate_stream("tiny_gpt", "Hello", max_tokens=32)
        for token in stream:
            print(token, end="", flush=True)
        stream.receipt_bundle()   # the runtime's verified receipt of the whole stream

    The iteration ends (StopIteration) only when the stream ended WHOLE: the final chunk
    authenticated and, from a runtime that signs receipts, its receipt over this request and
    every token verified. A stream cut off or tampered with raises instead (tokens already
    returned are then not a whole answer): :class:`ResponseError` for one that does not
    authenticate (a chunk tampered with or cut) or whose receipt does not verify,
    :class:`CryptaError` (code ``"data_loss"``) for one that ends without its final chunk,
    :class:`ServerError` for a model that failed mid-stream, and the request's own errors
    (:class:`NotFoundError` for an unknown model, :class:`InvalidArgumentError` for a prompt
    the model cannot take) from the first token on. ``next()`` releases the GIL while it
    waits. :meth:`close` (or ``with``, or dropping the stream) stops reading early; iteration
    then stops. Not meant to be iterated from several threads at once (it is safe, but the
    tokens are split between them)."""

    __slots__ = ("_native",)

    def __init__(self, native: Any):
        self._native = native

    def __iter__(self) -> "GenerationStream":
        return self

    def __next__(self) -> str:
        return self._native.__next__()

    @property
    def done(self) -> bool:
        """True once the stream ended whole (after the iteration stopped)."""
        return self._native.done

    @property
    def receipt(self) -> Optional[str]:
        """Once the stream ended whole: the runtime's receipt of it (JWS compact), already
        verified over this request and the whole event stream. None before the end, after an
        early :meth:`close`, or from a runtime that issues no receipts."""
        r = self._native.receipt()
        return None if r is None else r.jws

    def receipt_bundle(self) -> str:
        """The receipt bundle, JSON text (as :meth:`Receipt.bundle`; ``crypta receipt verify``
        and :func:`verify_receipt` check it offline). Raises FailedPreconditionError before
        the stream ended whole or without a receipt."""
        r = self._native.receipt()
        if r is None:
            reason = ("the service issues no receipts" if self.done
                      else "the stream has not ended whole")
            err = FailedPreconditionError(f"no receipt: {reason}")
            err.code = "failed_precondition"
            raise err
        return r.bundle().decode("utf-8")

    def close(self) -> None:
        """Stops reading the stream (waits at most until its next piece arrives, or the read
        timeout). Iteration then stops; a stream that had not ended has no receipt."""
        self._native.close()

    def __enter__(self) -> "GenerationStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<crypta.GenerationStream {'ended' if self.done else 'open'}>"


class VerifiedService:
    """A crypta-runtime whose attestation verified against your expectations. Thread-safe:
    share one across threads; each request has its own OHTTP context. Use as a context
    manager if you like (nothing needs closing)."""

    def __init__(self, native: Any, url: str):
        self._native = native
        self.url = url

    is_valid = True
    """Always True: a service that does not verify raises VerificationError instead."""

    @property
    def tee(self) -> str:
        """``"sev-snp"``, ``"tdx"``, ``"sgx"`` or ``"sim"``."""
        return self._native.tee

    @property
    def simulated(self) -> bool:
        """True for the SIMULATED TEE, which isolates nothing (accepted only with
        ``allow_simulated=True``)."""
        return self._native.simulated

    @property
    def measurement(self) -> str:
        """The attested code measurement, hex."""
        return self._native.measurement

    @property
    def claims(self) -> Dict[str, Any]:
        """Everything verified: TEE claims, runtime_data, the OHTTP key config."""
        return self._native.claims

    @property
    def runtime_data(self) -> Dict[str, Any]:
        return self._native.runtime_data

    @property
    def ohttp_key_id(self) -> int:
        return self._native.ohttp_key_id

    @property
    def issues_receipts(self) -> bool:
        """Whether the attested runtime signs receipts (its runtime_data binds a receipt
        key). When it does, every answer's receipt is verified, whether kept or not."""
        return self._native.issues_receipts

    @property
    def published(self) -> Optional[Dict[str, Any]]:
        """The release the transparency log proved for this service (``verify_service(...,
        transparency=URL)``), or None when no log was checked: {"index", "tenant",
        "workload", "measurement", "model_digest", "host_data", "note", "time" (Unix
        seconds), "origin" (the log's), "checkpoint_size" (the checkpoint it was proved in),
        "state_file" (where that checkpoint is remembered)}."""
        return self._native.published

    def predict(self, model: str, inputs: Union[Mapping[str, Any], Any],
                input_name: Optional[str] = None, *, with_receipt: bool = False
                ) -> Union[Dict[str, Any], Tuple[Dict[str, Any], Receipt]]:
        """Runs ``model`` on ``inputs`` ({name: numpy array}; or one array, named
        ``input_name`` or the model's first input) through OHTTP + the Open Inference
        Protocol with binary tensor data. Returns {output name: numpy array}; with
        ``with_receipt=True``, (outputs, :class:`Receipt`) — the runtime's verified receipt
        of this prediction (FailedPreconditionError, before anything is sent, from a runtime
        that issues none).

        dtypes: float32, float64, int64, int32, uint8, bool. C-contiguous arrays are read in
        place (others are made contiguous first). The GIL is released during cryptography
        and network I/O."""
        if not isinstance(inputs, Mapping):
            if input_name is None:
                meta = self.metadata(model)
                try:
                    input_name = meta["inputs"][0]["name"]
                except (KeyError, IndexError, TypeError):
                    raise InvalidArgumentError(
                        f"model {model!r} names no input in its metadata: pass input_name")
            inputs = {input_name: inputs}
        if with_receipt:
            outputs, receipt = self._native.predict(model, dict(inputs), True)
            return outputs, Receipt(receipt)
        return self._native.predict(model, dict(inputs))

    def infer(self, model: str, request: Union[Mapping[str, Any], str], *,
              with_receipt: bool = False
              ) -> Union[Dict[str, Any], Tuple[Dict[str, Any], Receipt]]:
        """Sends an Open Inference Protocol JSON request as is; returns the JSON response
        (with ``with_receipt=True``: (response, :class:`Receipt`), as :meth:`predict`)."""
        body = request if isinstance(request, str) else _json.dumps(request)
        if with_receipt:
            response, receipt = self._native.infer_json(model, body, True)
            return response, Receipt(receipt)
        return self._native.infer_json(model, body)

    def generate(self, model: str, prompt: str, max_tokens: int = 16) -> str:
        """Generates text (models whose signature declares ``generate``, e.g. the tiny GPT):
        POST /v2/models/<model>/generate through OHTTP; returns the whole continuation of
        ``prompt`` (``max_tokens`` tokens at most). The runtime's 4xx answers (a prompt it
        cannot take, e.g. not printable ASCII for an ASCII tokenizer; max_tokens out of range)
        raise :class:`InvalidArgumentError`, an unknown model :class:`NotFoundError`."""
        return self._native.generate(model, _prompt(prompt), _max_tokens(max_tokens))

    def generate_stream(self, model: str, prompt: str, max_tokens: int = 16
                        ) -> GenerationStream:
        """As :meth:`generate`, streamed: the request is sent now, and the returned
        :class:`GenerationStream` yields each token's text as it arrives (end to end encrypted,
        chunked OHTTP), with the receipt of the whole stream at its end."""
        return GenerationStream(self._native.generate_stream(model, _prompt(prompt),
                                                             _max_tokens(max_tokens)))

    def metadata(self, model: str) -> Dict[str, Any]:
        """The model's OIP metadata (inputs, outputs, platform), fetched through OHTTP."""
        return self._native.metadata(model)

    def encrypt(self, payload: bytes, path: str = "/", method: str = "POST",
                content_type: str = "application/octet-stream",
                headers: Optional[Mapping[str, str]] = None) -> EncryptedRequest:
        """Seals an HTTP request (Binary HTTP, RFC 9292) to the attested key. Send
        ``.data`` any way you like (see :meth:`EncryptedRequest.predict_body`), then open
        the answer with :meth:`decrypt`."""
        return EncryptedRequest(self._native.encrypt(
            bytes(payload), method, path, content_type, dict(headers or {})))

    def decrypt(self, request: EncryptedRequest, response: bytes) -> Response:
        """Opens the encapsulated response to ``request``."""
        return request.decrypt(response)

    def send(self, payload: bytes = b"", path: str = "/", method: str = "POST",
             content_type: str = "application/octet-stream",
             headers: Optional[Mapping[str, str]] = None) -> Response:
        """encrypt + POST /v1/ohttp + decrypt in one call."""
        return Response(self._native.send(
            bytes(payload), method, path, content_type, dict(headers or {})))

    def __enter__(self) -> "VerifiedService":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        sim = " SIMULATED TEE — no hardware isolation" if self.simulated else ""
        return f"<crypta.VerifiedService {self.url} {self.tee} {self.measurement[:16]}…{sim}>"


def verify_service(
    url: str,
    expected_measurements: Optional[Sequence[str]] = None,
    *,
    policy: Optional[Union[PathOrText, Mapping[str, Any]]] = None,
    ear: Optional[PathOrText] = None,
    jwks: Optional[Union[PathOrText, Mapping[str, Any]]] = None,
    expected_host_data: Optional[Sequence[str]] = None,
    model_digest: Optional[str] = None,
    workload: Optional[str] = None,
    tenant: Optional[str] = None,
    platform: Optional["Platform"] = None,
    allow_simulated: bool = False,
    allow_debug: bool = False,
    allow_missing_revocation: bool = False,
    accept_tcb: str = "UpToDate",
    data_dir: Optional[PathOrText] = None,
    sim_root: Optional[PathOrText] = None,
    ca: Optional[PathOrText] = None,
    spiffe_ids: Optional[Sequence[str]] = None,
    trust_domain: str = "crypta.local",
    client_cert: Optional[PathOrText] = None,
    client_key: Optional[PathOrText] = None,
    transparency: Optional[str] = None,
    log_key: Optional[PathOrText] = None,
    transparency_ca: Optional[PathOrText] = None,
    transparency_state: Optional[PathOrText] = None,
    timeout: float = 60,
) -> VerifiedService:
    """Verifies the crypta-runtime at ``url`` (``http://`` or ``https://HOST:PORT``) and
    returns a :class:`VerifiedService`, or raises :class:`VerificationError` naming every
    violation. Nothing is sent to the model before this succeeds.

    What pins the code — at least one is required:
      expected_measurements: accepted measurements (hex; any one matches).
      policy: an appraisal policy (YAML/JSON text, a dict, or a path; docs/policies.md).
      ear, jwks: a platform EAR token vouching for the measurement, and the platform's
        JWKS (``/.well-known/jwks.json``) it verifies with.
      tenant + workload: the control plane's signed reference values for that deployment
        (what it launched as), fetched through ``platform`` (default ``Platform(data_dir=...)``)
        and verified with the platform's JWKS — no hand-copied measurement.
      policy with ``require_published: true`` (and no ``measurements``) + transparency: a
        measurement published in the release log is the reference value.
    Further expectations: expected_host_data, model_digest ("sha256:<hex>"), workload,
      accept_tcb (worst TCB status accepted: "UpToDate", "SWHardeningNeeded", ...,
      "Unknown"), allow_debug, allow_missing_revocation (Intel evidence without CRLs).
    Simulated TEE: allow_simulated=True, plus the platform's sim root: ``data_dir`` (the
      control plane's data dir; its sim/ca.pem) or ``sim_root`` (the PEM or its path).
    https:// services: ``ca`` (the platform trust bundle) and ``spiffe_ids`` for SVID-TLS;
      without ``ca``, attested TLS judged like the evidence. client_cert/client_key: mTLS.
    Release transparency (issue 17; docs/transparency.md): ``transparency`` (the control
      plane's URL, which serves the release log) requires the service's measurement and model
      digest to be published there — the inclusion proof, the log key's signature on the
      checkpoint and its consistency with the last checkpoint seen are all checked, and a
      rollback or fork is refused. ``log_key``: the log's verifier key (the key text or a path
      to a file holding it; default: release-log.vkey of ``data_dir``). ``transparency_ca``:
      the CA file of an https:// log (default: tls/ca.pem of ``data_dir``).
      ``transparency_state``: the file remembering the last accepted checkpoint (default:
      under $XDG_STATE_HOME or ~/.local/state/crypta/transparency/). ``tenant``: the release
      must be this tenant's (``tenant`` alone, without ``workload``, is allowed with
      ``transparency``). An unpublished service raises :class:`VerificationError` ("not
      published"); what the log proved is :attr:`VerifiedService.published`.
    timeout: seconds for connects, reads and writes.
    """
    o = _native.VerifyOptions()
    o.measurements = list(expected_measurements or [])
    o.host_data = list(expected_host_data or [])
    o.policy_text = _read_json_or_text(policy, "policy")
    o.ear_token = _read(ear, "ear").strip()
    o.jwks_json = _read_json_or_text(jwks, "jwks")
    if tenant is not None and not workload and not transparency:
        raise InvalidArgumentError(
            "tenant: give the workload (a deployment name) or the transparency log too")
    if tenant is not None and workload:
        p = platform or Platform(data_dir=data_dir)
        rv = p.request("GET", f"/v1/tenants/{_seg(tenant)}/workloads/{_seg(workload)}"
                              "/reference-values")
        o.reference_values_token = rv.get("token", "")
        o.jwks_json = _json.dumps(p.request("GET", "/.well-known/jwks.json"))
    o.model_digest = model_digest or ""
    o.workload = workload or ""
    o.allow_simulated = bool(allow_simulated)
    o.allow_debug = bool(allow_debug)
    o.allow_missing_revocation = bool(allow_missing_revocation)
    o.accept_tcb = accept_tcb
    o.data_dir = os.fspath(data_dir) if data_dir is not None else ""
    o.sim_root_pem = _read(sim_root, "sim_root")
    o.ca_bundle_pem = _read(ca, "ca")
    o.spiffe_ids = list(spiffe_ids or [])
    o.trust_domain = trust_domain
    o.client_cert_pem = _read(client_cert, "client_cert")
    o.client_key_pem = _read(client_key, "client_key")
    o.transparency_url = transparency or ""
    o.log_key = _read(log_key, "log_key").strip()
    o.transparency_ca = os.fspath(transparency_ca) if transparency_ca is not None else ""
    o.transparency_state = (os.fspath(transparency_state) if transparency_state is not None
                            else "")
    if transparency and tenant is not None:
        o.transparency_tenant = tenant
    o.timeout_s = max(1, int(round(timeout)))
    return VerifiedService(_native.verify_service(url, o), url)


_MAX_BUNDLE = 192 << 20  # client::kMaxReceiptBundleBytes


def _bundle_bytes(bundle: Any) -> bytes:
    if isinstance(bundle, Receipt):
        return bundle._native.bundle()
    if isinstance(bundle, Mapping):
        return _json.dumps(bundle).encode("utf-8")
    if isinstance(bundle, (bytes, bytearray, memoryview)):
        return bytes(bundle)
    if isinstance(bundle, os.PathLike) or (
            isinstance(bundle, str) and not bundle.lstrip().startswith("{")):
        path = os.fspath(bundle)
        try:
            size = os.path.getsize(path)
        except OSError as e:
            raise InvalidArgumentError(f"receipt bundle: cannot read {path}: {e.strerror}")
        if size > _MAX_BUNDLE:
            raise VerificationError(f"receipt bundle: {path} is larger than 192 MiB")
        with open(path, "rb") as f:
            return f.read()
    if isinstance(bundle, str):
        return bundle.encode("utf-8")
    raise InvalidArgumentError(
        f"receipt bundle: want JSON text, bytes, a dict or a path, got {type(bundle).__name__}")


def verify_receipt(bundle: Any, allow_simulated: bool = False,
                   sim_root: Optional[PathOrText] = None,
                   at: Optional[Union[int, float, str, "datetime.datetime"]] = None
                   ) -> Dict[str, Any]:
    """Verifies a receipt bundle offline (the C++ SDK's VerifyReceiptBundle, as ``crypta
    receipt verify``): the attestation evidence against pinned roots, report_data binding
    runtime_data and its receipt key, the receipt's signature by that key, and its digests
    of the request, the response and the evidence. Returns what was verified
    ({"verified": True, "receipt": {...}, "tee", "simulated", "measurement", "host_data",
    "workload", "model_digest", "receipt_key_kid"}); raises :class:`VerificationError`
    naming the failed check ("attestation: ..." or "receipt: ...").

    bundle: the JSON text, bytes, a dict, a path, or a :class:`Receipt`.
    allow_simulated: accept the SIMULATED TEE's evidence; needs ``sim_root`` (the platform's
      sim root CA, the PEM or its path, e.g. <data dir>/sim/ca.pem).
    at: verification time for the evidence's certificates (Unix seconds, a datetime or an
      RFC 3339 string; default now): give the receipt's time to check an old receipt.
    """
    data = _bundle_bytes(bundle)
    at_seconds, at_text = 0, ""
    if at is not None:
        if isinstance(at, str):
            at_text = at
        elif hasattr(at, "timestamp"):
            at_seconds = int(at.timestamp())
        elif isinstance(at, (int, float)) and not isinstance(at, bool):
            at_seconds = int(at)
        else:
            raise InvalidArgumentError(
                f"at: want Unix seconds, a datetime or RFC 3339 text, got {type(at).__name__}")
        if not at_text and at_seconds <= 0:
            raise InvalidArgumentError("at: want a time after 1970")
    return _native.verify_receipt(data, bool(allow_simulated), _read(sim_root, "sim_root"),
                                  at_seconds, at_text)


class SealedData(Tuple[bytes, str]):
    """(blob, object_id): data sealed for attested workloads (:meth:`Platform.encrypt_data`)."""

    @property
    def blob(self) -> bytes:
        return self[0]

    @property
    def object_id(self) -> str:
        return self[1]


def _default_data_dir() -> str:
    if os.environ.get("CRYPTA_DATA_DIR"):
        return os.environ["CRYPTA_DATA_DIR"]
    xdg = os.environ.get("XDG_DATA_HOME")
    return os.path.join(xdg, "crypta") if xdg else os.path.expanduser("~/.local/share/crypta")


def _seg(s: str) -> str:
    from urllib.parse import quote
    return quote(s, safe="-._~")


def _find_model_checker() -> str:
    import shutil
    env = os.environ.get("CRYPTA_MODEL_CHECK")
    if env:
        return env
    # The build tree: <build>/python/crypta/__init__.py -> <build>/bin/crypta-model-check.
    beside = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "bin", "crypta-model-check")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("crypta-model-check") or ""


class Platform:
    """The control plane's admin API, as the ``crypta`` CLI finds it: ``url``/``token``/``ca``
    given, else CRYPTA_URL/CRYPTA_TOKEN/CRYPTA_CA_CERT, else the data dir of a local
    ``crypta up`` (``data_dir``, $CRYPTA_DATA_DIR or ~/.local/share/crypta: its url,
    admin.token, tls/ca.pem)."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None,
                 ca: Optional[PathOrText] = None, data_dir: Optional[PathOrText] = None):
        if data_dir is None:
            url = url or os.environ.get("CRYPTA_URL")
            token = token or os.environ.get("CRYPTA_TOKEN")
            ca = ca or os.environ.get("CRYPTA_CA_CERT")
        d = os.fspath(data_dir) if data_dir is not None else _default_data_dir()
        try:
            if not url:
                with open(os.path.join(d, "url"), encoding="utf-8") as f:
                    url = f.read().strip()
            if not token:
                with open(os.path.join(d, "admin.token"), encoding="utf-8") as f:
                    token = f.read().strip()
        except OSError as e:
            raise UnavailableError(
                f"no control plane: pass url and token, set CRYPTA_URL/CRYPTA_TOKEN, or run "
                f"`crypta up` ({e})") from None
        if not ca and url.startswith("https://") and os.path.isfile(os.path.join(d, "tls/ca.pem")):
            ca = os.path.join(d, "tls/ca.pem")
        self._native = _native.Platform(url, token, os.fspath(ca) if ca else "")

    @property
    def url(self) -> str:
        return self._native.url

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One admin API call (JSON in and out); errors are CryptaError subclasses."""
        return self._native.request(method.upper(), path,
                                    "" if body is None else _json.dumps(body))

    def encrypt_model(self, path: PathOrText, tenant: str, key: str, name: Optional[str] = None,
                      recipient_tee: Optional[Iterable[str]] = None,
                      key_rotation_days: Optional[int] = None,
                      signature: Optional[Union[PathOrText, Mapping[str, Any]]] = None,
                      backend: Optional[str] = None, check: Union[bool, str] = "auto") -> str:
        """Seals the model file at ``path`` locally with a fresh data key that the key broker
        wraps under ``tenant``/``key``, uploads only the sealed blob, and returns its
        ``store://tenant/name@sha256:...`` reference (what a deployment's ``model:`` names).

        signature: the model's inputs and outputs (a dict, JSON text or a path; see
          docs/models.md) — required for TorchScript, read from the graph for ONNX. It is
          stored with the model, and crypta-runtime serves the model with it.
        backend: "torchscript" or "onnx" (default: inferred from the file).
        check: load and run the model with ``crypta-model-check`` (a child process with memory
          and CPU limits) before sealing, as ``crypta model push`` does; True requires the
          checker, "auto" uses it when found ($CRYPTA_MODEL_CHECK, the build tree's bin/, or
          PATH), False skips it. A state_dict or random bytes raise InvalidArgumentError.
        recipient_tee: release the key only to these TEEs (e.g. ["sev-snp", "tdx"]).
        key_rotation_days: require the key to rotate at least this often (it rewraps the
        model's data key each time); the key must have been created so."""
        r = _native.PushModelRequest()
        r.tenant, r.key, r.file = tenant, key, os.fspath(path)
        r.name = name or os.path.splitext(os.path.basename(r.file))[0]
        r.tees = list(recipient_tee or [])
        r.rotate_days = int(key_rotation_days or 0)
        r.backend = backend or ""
        r.signature_json = _read_json_or_text(signature, "signature")
        if check:
            r.model_checker = _find_model_checker()
            if not r.model_checker and check is True:
                raise FailedPreconditionError(
                    "cannot check the model: crypta-model-check not found (set "
                    "CRYPTA_MODEL_CHECK, put it on PATH, or pass check=False)")
        return self._native.push_model(r)["reference"]

    def encrypt_data(self, data: bytes, tenant: str, key: str,
                     object_id: Optional[str] = None) -> SealedData:
        """Seals ``data`` so that only attested workloads that ``tenant``/``key``'s release
        policy accepts can open it (:meth:`TEEEnvironment.decrypt_data` with the returned
        object id)."""
        blob, oid = self._native.seal_data(tenant, key, bytes(data), object_id or "")
        return SealedData((blob, oid))

    def models(self, tenant: str) -> List[Dict[str, Any]]:
        return self.request("GET", f"/v1/tenants/{_seg(tenant)}/models").get("models", [])

    def keys(self, tenant: str) -> List[Dict[str, Any]]:
        return self.request("GET", f"/v1/tenants/{_seg(tenant)}/keys").get("keys", [])

    def tenants(self) -> List[Dict[str, Any]]:
        return self.request("GET", "/v1/tenants").get("tenants", [])

    def audit_tail(self, tail: int = 20, tenant: Optional[str] = None) -> List[Dict[str, Any]]:
        """The newest ``tail`` audit entries, as ``crypta audit tail`` (a tenant token sees
        its own tenant's; ``tenant`` filters further)."""
        entries = self.request("GET", f"/v1/audit?tail={int(tail)}").get("entries", [])
        return [e for e in entries if tenant is None or e.get("tenant") == tenant]

    def __enter__(self) -> "Platform":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"<crypta.Platform {self.url}>"


class TEEEnvironment:
    """Inside a TEE: obtain secrets by attestation, as crypta-runtime does. Each call runs
    RCAR with the key broker (evidence from the TEE, an EAR token back) and has the key
    released to an ephemeral key the evidence binds.

    broker_url: the control plane (default $CRYPTA_BROKER_URL); broker_ca: its CA for
    https:// (default $CRYPTA_BROKER_CA); tee: "auto" (detect the hardware, or the sim TEE's
    socket $CRYPTA_SIM_SOCKET that ``crypta sim launch`` sets) or "sim"; gpu_evidence:
    "none", "nvml" (the VM's NVIDIA GPUs through NVML, loaded at run time) or "sim" (the sim
    TEE's simulated GPUs, ``crypta sim launch --gpus N``): their evidence accompanies the
    TEE's, bound to it, for key policies with a ``gpu:`` section.
    Raises FailedPreconditionError when not inside a TEE."""

    def __init__(self, broker_url: Optional[str] = None, broker_ca: Optional[str] = None,
                 tee: str = "auto", max_model_bytes: int = 4 << 30, gpu_evidence: str = "none"):
        o = _native.TeeEnvironmentOptions()
        o.broker_url = broker_url or ""
        o.broker_ca_path = broker_ca or ""
        o.tee = tee
        o.gpu_evidence = gpu_evidence
        o.max_model_bytes = int(max_model_bytes)
        self._native = _native.TeeEnvironment(o)
        self.last_model_metadata: Optional[Dict[str, Any]] = None

    @property
    def tee(self) -> str:
        return self._native.tee

    @property
    def simulated(self) -> bool:
        """True under the SIMULATED TEE (no hardware isolation)."""
        return self._native.simulated

    def load_encrypted_model(self, reference: str) -> bytes:
        """The model ``store://tenant/name@sha256:...``, unsealed in memory only; e.g.
        ``torch.jit.load(io.BytesIO(env.load_encrypted_model(ref)))``. Raises
        PermissionDeniedError when the key's policy refuses this TEE."""
        plaintext, metadata = self._native.load_model(reference)
        self.last_model_metadata = metadata
        return plaintext

    def decrypt_data(self, blob: bytes, object_id: str) -> bytes:
        """Opens data sealed by :meth:`Platform.encrypt_data` (or :meth:`encrypt_data`)."""
        return self._native.decrypt_data(bytes(blob), object_id)

    def encrypt_data(self, data: bytes, like: bytes, object_id: str) -> bytes:
        """Seals ``data`` under the same key as ``like`` (a blob of ``object_id``), so that the
        owner's and attested workloads' :meth:`decrypt_data` open it."""
        return self._native.encrypt_data(bytes(data), bytes(like), object_id)

    def __repr__(self) -> str:
        sim = " (SIMULATED TEE — no hardware isolation)" if self.simulated else ""
        return f"<crypta.TEEEnvironment {self.tee}{sim}>"
