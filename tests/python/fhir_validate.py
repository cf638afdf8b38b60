"""Validates FHIR R4 JSON files with fhir.resources' R4B models (ImagingStudy is the same in
R4 and R4B). Usage: fhir_validate.py FILE...  Each file holds one resource; its resourceType
picks the model, and Bundle entries are validated as their own types. Prints one line per
file and exits 1 if any file fails."""

import json
import sys

from pydantic import ValidationError
from fhir.resources.R4B import get_fhir_model_class

KNOWN = {"ImagingStudy", "Bundle", "Patient", "Endpoint", "OperationOutcome",
         "CapabilityStatement"}


def validate(path):
    with open(path, "rb") as f:
        data = json.load(f)
    kind = data.get("resourceType")
    if kind not in KNOWN:
        return f"unexpected resourceType {kind!r}"
    model = get_fhir_model_class(kind)
    try:
        resource = model.model_validate(data)
    except ValidationError as e:
        return "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
    if kind == "Bundle":
        for entry in resource.entry or []:
            inner = entry.resource
            if inner.get_resource_type() not in KNOWN:
                return f"bundle entry of type {inner.get_resource_type()}"
    return None


def main(paths):
    failed = 0
    for path in paths:
        error = validate(path)
        if error:
            failed += 1
            print(f"INVALID {path}: {error}")
        else:
            print(f"valid {path}")
    print(f"{len(paths) - failed} valid, {failed} invalid")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
