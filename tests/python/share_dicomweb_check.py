"""A recipient's viewer on a share link: dicomweb-client against /s/{link}/dicomweb with no
credentials. The shared study is searchable and retrievable, with metadata and frames; no
other study of the record is. With --deidentified, the share de-identifies: the study is
found under a remapped UID (the stored one finds nothing), and every file and metadata object
is de-identified (no patient name, id or stored UID; Patient Identity Removed YES).

Usage: share_dicomweb_check.py [--deidentified] SHARE_DICOMWEB_BASE SHARED_STUDY_UID OTHER_STUDY_UID
Prints one line per passed check; exits non-zero at the first failure, naming it."""

import sys

import requests
from dicomweb_client.api import DICOMwebClient

STUDY_UID = "0020000D"


def check(what, condition):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def main(base, stored, other, deidentified):
    client = DICOMwebClient(url=base)
    client.set_http_retry_params(retry=False)
    studies = client.search_for_studies()
    check("one study is found", len(studies) == 1)
    shared = studies[0][STUDY_UID]["Value"][0]
    if deidentified:
        check("under a remapped UID", shared.startswith("2.25.") and shared != stored)
        check("the stored UID finds nothing",
              client.search_for_studies(search_filters={"StudyInstanceUID": stored}) == [])
        check("the search names no patient",
              studies[0]["00100010"]["Value"][0]["Alphabetic"] == "Anonymous")
    else:
        check("it is the shared one", shared == stored)
    check("another study does not match a search",
          client.search_for_studies(search_filters={"StudyInstanceUID": other}) == [])
    series = client.search_for_series(study_instance_uid=shared)
    check("its series are listed", len(series) >= 1)
    instances = client.search_for_instances(study_instance_uid=shared)
    check("its instances are listed", len(instances) >= 1)
    datasets = client.retrieve_study(shared)
    check("the study is retrieved whole", len(datasets) == len(instances))
    check("with the UIDs the search gave", all(ds.StudyInstanceUID == shared for ds in datasets))
    meta = client.retrieve_study_metadata(shared)
    check("its metadata is retrieved", len(meta) == len(instances))
    if deidentified:
        check("every file is de-identified",
              all(ds.PatientIdentityRemoved == "YES" and str(ds.PatientName) == "Anonymous"
                  and ds.PatientID.startswith("ANON")
                  and ("PatientBirthDate" not in ds or ds.PatientBirthDate == "")
                  for ds in datasets))
        check("and so is every metadata object",
              all(m["00120062"]["Value"][0] == "YES" and stored not in str(m) for m in meta))
        listed = {i["00080018"]["Value"][0] for i in instances}
        check("files carry the SOP Instance UIDs the search gave",
              {ds.SOPInstanceUID for ds in datasets} == listed)
    ds = datasets[0]
    frames = client.retrieve_instance_frames(shared, ds.SeriesInstanceUID, ds.SOPInstanceUID,
                                             frame_numbers=[1])
    check("a frame is retrieved", len(frames) == 1 and len(frames[0]) > 0)
    for what, call in [
        ("another study cannot be retrieved", lambda: client.retrieve_study(other)),
        ("nor the shared one by its stored UID" if deidentified else "nor another study again",
         lambda: client.retrieve_study(stored if deidentified else other)),
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
    args = sys.argv[1:]
    deidentified = "--deidentified" in args
    args = [a for a in args if a != "--deidentified"]
    if len(args) != 3:
        sys.exit(__doc__)
    try:
        main(*args, deidentified)
    except AssertionError as e:
        print(f"FAILED: {e}")
        sys.exit(1)
