#!/usr/bin/env python3
"""Validates multi-document Kubernetes YAML against the vendored JSON Schemas.

Usage: validate_manifests.py SCHEMA_DIR FILE...

Every document must be one of the kinds crypta renders (ConfigMap v1, Deployment apps/v1,
Service v1) and valid against testdata/k8s-schema/<kind>.json (strict: unknown fields are
errors). Prints one line per error ("FILE: document N (Kind name): path: message") and exits
1 when there is any; works offline (Debian packages python3-jsonschema and python3-yaml).
"""
import json
import os
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:
    sys.exit(f"validate_manifests.py: {e.name} is missing: install python3-jsonschema and "
             "python3-yaml (scripts/setup.sh)")

SCHEMAS = {
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("v1", "Service"): "service-v1.json",
}


def load_validators(schema_dir):
    validators = {}
    for key, name in SCHEMAS.items():
        with open(os.path.join(schema_dir, name), encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft7Validator.check_schema(schema)
        validators[key] = jsonschema.Draft7Validator(schema)
    return validators


def where(error):
    return "/" + "/".join(str(p) for p in error.absolute_path)


def leaves(error):
    """The innermost errors: through oneOf/anyOf, skipping the {"type": "null"} branches
    that stand for optional fields."""
    if not error.context:
        return [error]
    inner = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
    return [leaf for e in inner for leaf in leaves(e)] or [error]


def message(error):
    text = error.message
    return text if len(text) <= 200 else text[:200] + "..."


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    validators = load_validators(argv[1])
    errors = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d is not None]
        if not documents:
            print(f"{path}: no Kubernetes objects")
            errors += 1
        for i, doc in enumerate(documents, 1):
            if not isinstance(doc, dict):
                print(f"{path}: document {i}: not a mapping")
                errors += 1
                continue
            key = (doc.get("apiVersion"), doc.get("kind"))
            label = f"document {i} ({key[1]} {(doc.get('metadata') or {}).get('name')})"
            validator = validators.get(key)
            if validator is None:
                print(f"{path}: {label}: no schema for apiVersion {key[0]} kind {key[1]}")
                errors += 1
                continue
            found = [leaf for e in validator.iter_errors(doc) for leaf in leaves(e)]
            found.sort(key=lambda e: [str(p) for p in e.absolute_path])
            for error in found:
                print(f"{path}: {label}: {where(error)}: {message(error)}")
            errors += len(found)
    if errors:
        print(f"{errors} schema error(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
