"""Landing a file a user hands over (hhcast retrain --files): by name, local or S3, no copies."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from tasks.raw.landing import check_handed_over, land, list_landing


def test_a_new_file_lands_at_the_top_of_landing_unchanged(settings, paths, tmp_path):
    handed = tmp_path / "upload" / "aircraft_utilization_2024_05.csv"
    handed.parent.mkdir()
    handed.write_bytes(b"Dep. Date;A/C\n2024.05.01;PR-ABC\n")
    landed = land(str(handed), settings)
    assert landed == str(paths["landing"] / handed.name)
    assert (paths["landing"] / handed.name).read_bytes() == handed.read_bytes()


def test_a_corrected_export_replaces_its_namesake_where_it_lies(settings, paths, tmp_path):
    earlier = paths["landing"] / "events_unscheduled" / "events_2024_05.xlsx"
    earlier.parent.mkdir()
    earlier.write_bytes(b"first version")
    corrected = tmp_path / "events_2024_05.xlsx"
    corrected.write_bytes(b"corrected version")
    assert land(str(corrected), settings) == str(earlier)
    assert earlier.read_bytes() == b"corrected version"
    # one file of that name, so ingestion replaces the earlier rows instead of adding more
    assert [f.uri for f in list_landing(settings)] == [str(earlier)]


def test_files_land_from_s3_into_s3(s3_env, settings):
    fs, bucket = s3_env
    fs.pipe_file(f"{bucket}/uploads/aircraft_utilization_2024_06.csv", b"a;b\n1;2\n")
    on_s3 = settings.with_overrides(landing=f"s3://{bucket}/landing")
    landed = land(f"s3://{bucket}/uploads/aircraft_utilization_2024_06.csv", on_s3)
    assert landed == f"s3://{bucket}/landing/aircraft_utilization_2024_06.csv"
    assert fs.cat_file(landed) == b"a;b\n1;2\n"


def test_a_missing_file_is_named(settings, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.csv: no such file to land"):
        land(str(tmp_path / "nowhere.csv"), settings)


def test_a_hand_over_is_refused_whole_before_anything_lands(settings, paths, tmp_path):
    good = tmp_path / "a" / "events_2024_05.xlsx"
    twin = tmp_path / "b" / "events_2024_05.xlsx"
    for path in (good, twin):
        path.parent.mkdir()
        path.write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match=r"nowhere\.csv: no such file .* nothing was"):
        check_handed_over([str(good), str(tmp_path / "nowhere.csv")], settings)
    with pytest.raises(ValueError, match="same name would overwrite each other") as refused:
        check_handed_over([str(good), str(twin)], settings)
    assert str(good) in str(refused.value) and str(twin) in str(refused.value)
    with pytest.raises(ValueError, match="no files given"):
        check_handed_over([], settings)
    check_handed_over([str(good)], settings)  # one good file passes
    assert list(paths["landing"].iterdir()) == []


def test_a_symlink_to_a_file_is_listed_as_that_file(settings, paths, tmp_path):
    target = tmp_path / "exports" / "u.csv"
    target.parent.mkdir()
    target.write_bytes(b"Dep. Date,A/C\n")
    (paths["landing"] / "u.csv").symlink_to(target)
    (listed,) = list_landing(settings)
    assert (listed.uri, listed.bytes, listed.skipped) == (str(paths["landing"] / "u.csv"), 14, None)


def test_links_that_cannot_be_followed_are_listed_as_skipped_with_a_reason(
    settings, paths, tmp_path
):
    landing = paths["landing"]
    (landing / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    (landing / "loop_a.csv").symlink_to(landing / "loop_b.csv")
    (landing / "loop_b.csv").symlink_to(landing / "loop_a.csv")
    (tmp_path / "folder").mkdir()
    (landing / "folder").symlink_to(tmp_path / "folder")
    reasons = {PurePosixPath(f.uri).name: f.skipped for f in list_landing(settings)}
    assert set(reasons) == {"gone.csv", "loop_a.csv", "loop_b.csv", "folder"}
    assert "points nowhere" in reasons["gone.csv"]
    assert "cannot be followed" in reasons["loop_a.csv"]
    assert "which is a folder" in reasons["folder"]
    assert all(r.startswith(str(landing)) and "skipped" in r for r in reasons.values())
