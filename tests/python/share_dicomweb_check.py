"""A recipient's viewer on a share link: dicomweb-client against /s/{link}/dicomweb with no
credentials. The shared study is searchable and retrievable, with metadata and frames; no
other study of the record is.

Usage: share_dicomweb_check.py SHARE_DICOMWEB_BASE SHARED_STUDY_UID OTHER_STUDY_UID
Prints one line per passed check; exits non-zero at the first failure, naming it."""

import sys

import requests
from dicomweb_client.api import DICOMwebClient

STUDY_UID = "0020000D"


def check(what, condition):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def main(base, shared, other):
    client = DICOMwebClient(url=base)
    client.set_http_retry_params(retry=False)
    studies = client.search_for_studies()
    check("one study is found", len(studies) == 1)
    check("it is the shared one", studies[0][STUDY_UID]["Value"][0] == shared)
    check("another study does not match a search",
          client.search_for_studies(search_filters={"StudyInstanceUID": other}) == [])
    series = client.search_for_series(study_instance_uid=shared)
    check("its series are listed", len(series) >= 1)
    instances = client.search_for_instances(study_instance_uid=shared)
    check("its instances are listed", len(instances) >= 1)
    datasets = client.retrieve_study(shared)
    check("the study is retrieved whole", len(datasets) == len(instances))
    check("as the stored files", all(ds.StudyInstanceUID == shared for ds in datasets))
    meta = client.retrieve_study_metadata(shared)
    check("its metadata is retrieved", len(meta) == len(instances))
    ds = datasets[0]
    frames = client.retrieve_instance_frames(shared, ds.SeriesInstanceUID, ds.SOPInstanceUID,
                                             frame_numbers=[1])
    check("a frame is retrieved", len(frames) == 1 and len(frames[0]) > 0)
    for what, call in [
        ("another study cannot be retrieved", lambda: client.retrieve_study(other)),
        ("nor its metadata", lambda: client.retrieve_study_metadata(other)),
        ("nor its series listed", lambda: client.search_for_series(study_instance_uid=other)),
    ]:
        try:
            result = call()
            refused = result == []
        except requests.exceptions.HTTPError as e:
            refused = e.response.status_code == 404
        check(what, refused)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    try:
        main(*sys.argv[1:])
    except AssertionError as e:
        print(f"FAILED: {e}")
        sys.exit(1)
