"""Drives a studyvault DICOMweb base with the dicomweb-client package, as a viewer or an
imaging tool would: STOW-RS of the given files, QIDO-RS at every level with filters,
wildcards, date ranges, includefield and paging, WADO-RS retrieval of studies, series and
instances, metadata, frames and bulk data, rendered images and thumbnails.

Usage: dicomweb_check.py BASE_URL TOKEN FILE...   Exits non-zero at the first failed check,
printing which; prints one line per passed check."""

import sys

import pydicom
from pydicom.encaps import generate_frames
from dicomweb_client.api import DICOMwebClient

STUDY_UID, SERIES_UID, SOP_UID = "0020000D", "0020000E", "00080018"


def value(obj, tag):
    return obj[tag]["Value"][0]


def check(what, condition):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def main(base, token, paths):
    client = DICOMwebClient(url=base, headers={"Authorization": f"Bearer {token}"})
    client.set_http_retry_params(retry=False)
    datasets = [pydicom.dcmread(p) for p in paths]
    by_sop = {ds.SOPInstanceUID: ds for ds in datasets}
    check("the files are distinct instances", len(by_sop) == len(datasets))
    studies = {ds.StudyInstanceUID for ds in datasets}

    # STOW-RS
    stored = client.store_instances(datasets)
    refs = stored.get("ReferencedSOPSequence", [])
    check("STOW stores every instance", len(refs) == len(datasets))
    check("nothing failed", "FailedSOPSequence" not in stored)
    check("each stored instance has its retrieve URL",
          all(r.RetrieveURL.startswith(base) for r in refs))
    again = client.store_instances(datasets[:1])
    check("storing again is a warning, not a failure",
          again.ReferencedSOPSequence[0].get("WarningReason") == 0xB00E)
    one = datasets[0]
    mismatch = next(ds for ds in datasets if ds.StudyInstanceUID != one.StudyInstanceUID)
    try:
        client.store_instances([mismatch], study_instance_uid=one.StudyInstanceUID)
        check("an instance of another study is refused", False)
    except Exception as e:  # requests.HTTPError from raise_for_status
        check("an instance of another study is refused with 409",
              getattr(getattr(e, "response", None), "status_code", None) == 409)

    # QIDO-RS, studies
    found = client.search_for_studies()
    check("every study is found", {value(s, STUDY_UID) for s in found} == studies)
    s0 = next(s for s in found if value(s, STUDY_UID) == one.StudyInstanceUID)
    check("study attributes are returned",
          all(t in s0 for t in ("00080020", "00080061", "00100010", "00201206", "00201208",
                                "00081190")))
    check("counts are computed", value(s0, "00201208") == 1 and value(s0, "00201206") == 1)
    family = str(one.PatientName).split("^")[0]
    hits = client.search_for_studies(search_filters={"PatientName": family[:4] + "*"})
    check("a wildcard on PatientName matches",
          one.StudyInstanceUID in {value(s, STUDY_UID) for s in hits})
    day = one.StudyDate
    hits = client.search_for_studies(search_filters={"StudyDate": f"{day}-{day}"})
    check("a date range matches",
          one.StudyInstanceUID in {value(s, STUDY_UID) for s in hits})
    hits = client.search_for_studies(search_filters={"StudyDate": "19000101-19000102"})
    check("a date range outside matches nothing", hits == [])
    hits = client.search_for_studies(search_filters={"ModalitiesInStudy": one.Modality})
    check("ModalitiesInStudy matches",
          one.StudyInstanceUID in {value(s, STUDY_UID) for s in hits})
    hits = client.search_for_studies(
        search_filters={"StudyInstanceUID": one.StudyInstanceUID},
        fields=["StudyDescription", "00081030"])
    check("a UID match finds one study", len(hits) == 1)
    check("includefield returns the attribute (even empty)", "00081030" in hits[0])
    paged = client.search_for_studies(limit=1, get_remaining=True)
    check("paging with get_remaining walks every study once",
          sorted(value(s, STUDY_UID) for s in paged) == sorted(studies))

    # QIDO-RS, series and instances at every level
    series = client.search_for_series()
    check("every series is found", len(series) == len(datasets))
    check("/series returns study attributes too", all("00100010" in s for s in series))
    series_of_one = client.search_for_series(one.StudyInstanceUID)
    check("a study's series", [value(s, SERIES_UID) for s in series_of_one]
          == [one.SeriesInstanceUID])
    instances = client.search_for_instances()
    check("every instance is found", {value(i, SOP_UID) for i in instances} == set(by_sop))
    check("a study's instances", [value(i, SOP_UID) for i in
                                  client.search_for_instances(one.StudyInstanceUID)]
          == [one.SOPInstanceUID])
    check("a series' instances", [value(i, SOP_UID) for i in client.search_for_instances(
        one.StudyInstanceUID, one.SeriesInstanceUID)] == [one.SOPInstanceUID])
    hits = client.search_for_instances(search_filters={"SOPClassUID": one.SOPClassUID})
    check("SOPClassUID matches", one.SOPInstanceUID in {value(i, SOP_UID) for i in hits})

    # WADO-RS retrieval
    for ds in datasets:
        got = client.retrieve_instance(ds.StudyInstanceUID, ds.SeriesInstanceUID,
                                       ds.SOPInstanceUID)
        check(f"instance {ds.SOPInstanceUID[-8:]} comes back with its pixels",
              got.SOPInstanceUID == ds.SOPInstanceUID and got.PixelData == ds.PixelData)
    study = client.retrieve_study(one.StudyInstanceUID)
    check("a study comes back whole", [d.SOPInstanceUID for d in study] == [one.SOPInstanceUID])
    series = client.retrieve_series(one.StudyInstanceUID, one.SeriesInstanceUID)
    check("a series comes back whole", [d.SOPInstanceUID for d in series] ==
          [one.SOPInstanceUID])

    # Metadata
    meta = client.retrieve_instance_metadata(one.StudyInstanceUID, one.SeriesInstanceUID,
                                             one.SOPInstanceUID)
    check("instance metadata names the instance", value(meta, SOP_UID) == one.SOPInstanceUID)
    check("pixel data is bulk data", "BulkDataURI" in meta["7FE00010"])
    check("metadata reads as a pydicom data set",
          pydicom.Dataset.from_json(meta, bulk_data_uri_handler=lambda *a: b"").SOPInstanceUID
          == one.SOPInstanceUID)
    check("study metadata", len(client.retrieve_study_metadata(one.StudyInstanceUID)) == 1)
    check("series metadata", len(client.retrieve_series_metadata(
        one.StudyInstanceUID, one.SeriesInstanceUID)) == 1)

    # Frames and bulk data, as stored (the client's default Accept: type="*/*")
    native = [ds for ds in datasets if not ds.file_meta.TransferSyntaxUID.is_compressed]
    for ds in native:
        frames = client.retrieve_instance_frames(ds.StudyInstanceUID, ds.SeriesInstanceUID,
                                                 ds.SOPInstanceUID, [1])
        check(f"native frame 1 of {ds.SOPInstanceUID[-8:]} is its pixel data",
              frames == [ds.PixelData])
    for ds in datasets:
        if not ds.file_meta.TransferSyntaxUID.is_compressed:
            continue
        count = int(ds.get("NumberOfFrames", 1))
        expected = list(generate_frames(ds.PixelData, number_of_frames=count))
        frames = client.retrieve_instance_frames(ds.StudyInstanceUID, ds.SeriesInstanceUID,
                                                 ds.SOPInstanceUID, list(range(1, count + 1)))
        check(f"compressed frames of {ds.SOPInstanceUID[-8:]} are their fragments",
              frames == expected)
    check("compressed frames were checked too", len(native) < len(datasets))
    check("the metadata's instance is native", one in native)
    bulk = client.retrieve_bulkdata(meta["7FE00010"]["BulkDataURI"])
    check("the pixel data's BulkDataURI gives the pixel data", bulk == [one.PixelData])

    # Rendered and thumbnails: the stored previews
    jpeg = client.retrieve_instance_rendered(one.StudyInstanceUID, one.SeriesInstanceUID,
                                             one.SOPInstanceUID)
    check("an instance renders as JPEG", jpeg[:2] == b"\xff\xd8")
    jpeg = client.retrieve_series_rendered(one.StudyInstanceUID, one.SeriesInstanceUID,
                                           media_types=("image/jpeg",))
    check("a series renders as JPEG", jpeg[:2] == b"\xff\xd8")
    for path in (f"/studies/{one.StudyInstanceUID}/thumbnail",
                 f"/studies/{one.StudyInstanceUID}/series/{one.SeriesInstanceUID}/thumbnail"):
        reply = client._session.get(base + path)
        check(f"thumbnail {path.split('/')[-2][-8:]}",
              reply.status_code == 200 and reply.content[:2] == b"\xff\xd8")
    print(f"all checks passed for {len(datasets)} instances")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
