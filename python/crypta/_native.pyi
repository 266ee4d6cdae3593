# Type stubs of crypta._native (python/src/crypta_module.cc). Use the `crypta` package.
from typing import Any, Dict, List, Mapping, Optional, Tuple

def set_error_classes(classes: Dict[str, type]) -> None: ...

class VerifyOptions:
    measurements: List[str]
    host_data: List[str]
    policy_text: str
    allow_simulated: bool
    allow_debug: bool
    allow_missing_revocation: bool
    sim_root_pem: str
    data_dir: str
    ear_token: str
    jwks_json: str
    reference_values_token: str
    model_digest: str
    workload: str
    accept_tcb: str
    timeout_s: int
    ca_bundle_pem: str
    spiffe_ids: List[str]
    trust_domain: str
    client_cert_pem: str
    client_key_pem: str
    transparency_url: str
    log_key: str
    transparency_ca: str
    transparency_state: str
    transparency_tenant: str
    def __init__(self) -> None: ...

class EncryptedRequest:
    data: bytes
    def decrypt(self, response: bytes) -> Dict[str, Any]: ...

class Receipt:
    jws: str
    def bundle(self) -> bytes: ...
    def claims(self) -> Dict[str, Any]: ...

# One streamed generation: each token's text; StopIteration only once it ended whole.
class GenerationStream:
    done: bool
    def __iter__(self) -> "GenerationStream": ...
    def __next__(self) -> str: ...
    def close(self) -> None: ...
    # Once ended whole, from a runtime with receipts; else None.
    def receipt(self) -> Optional[Receipt]: ...

class Service:
    claims: Dict[str, Any]
    runtime_data: Dict[str, Any]
    tee: str
    simulated: bool
    measurement: str
    ohttp_key_id: int
    issues_receipts: bool
    # The release the transparency log proved: {"index", "tenant", "workload", "measurement",
    # "model_digest", "host_data", "note", "time", "origin", "checkpoint_size", "state_file"},
    # or None when no log was checked.
    published: Optional[Dict[str, Any]]
    # with_receipt: (outputs, Receipt) instead of outputs.
    def predict(self, model: str, inputs: Dict[str, Any], with_receipt: bool = ...) -> Any: ...
    def infer_json(self, model: str, body: str, with_receipt: bool = ...) -> Any: ...
    def metadata(self, model: str) -> Any: ...
    def generate(self, model: str, prompt: str, max_tokens: int) -> str: ...
    def generate_stream(self, model: str, prompt: str, max_tokens: int) -> GenerationStream: ...
    def encrypt(self, payload: bytes, method: str, path: str, content_type: str,
                headers: Mapping[str, str]) -> EncryptedRequest: ...
    def send(self, payload: bytes, method: str, path: str, content_type: str,
             headers: Mapping[str, str]) -> Dict[str, Any]: ...

def verify_service(url: str, options: VerifyOptions) -> Service: ...
def verify_receipt(bundle: bytes, allow_simulated: bool, sim_root_pem: str, at: int,
                   at_text: str) -> Dict[str, Any]: ...

class PushModelRequest:
    tenant: str
    key: str
    name: str
    file: str
    tees: List[str]
    rotate_days: int
    tmp_dir: str
    backend: str
    signature_json: str
    model_checker: str
    def __init__(self) -> None: ...

class Platform:
    url: str
    def __init__(self, url: str, token: str, ca_path: str) -> None: ...
    def request(self, method: str, path: str, body: str) -> Any: ...
    def push_model(self, request: PushModelRequest) -> Dict[str, Any]: ...
    def seal_data(self, tenant: str, key: str, data: bytes, object_id: str) -> Tuple[bytes, str]: ...

class TeeEnvironmentOptions:
    broker_url: str
    broker_ca_path: str
    tee: str
    sim_socket: str
    gpu_evidence: str
    max_model_bytes: int
    def __init__(self) -> None: ...

class TeeEnvironment:
    tee: str
    simulated: bool
    ear_token: str
    def __init__(self, options: TeeEnvironmentOptions) -> None: ...
    def load_model(self, reference: str) -> Tuple[bytes, Any]: ...
    def decrypt_data(self, blob: bytes, object_id: str) -> bytes: ...
    def encrypt_data(self, data: bytes, like: bytes, object_id: str) -> bytes: ...
