"""Printed post packets: page count, content, privacy, atomic writes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pypdf import PdfReader

from safepassage.errors import DataError
from safepassage.maps import post_packet
from safepassage.maps import printed as printed_module

from .conftest import Plan, texts_inside


@pytest.fixture(scope="module")
def packet(plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> PdfReader:
    return PdfReader(post_packet(plan, "V1", tmp_path_factory.mktemp("pdf") / "v1.pdf"))


@pytest.fixture(scope="module")
def text(packet: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in packet.pages)


def flat(text: str) -> str:
    """Text with its line breaks and runs of spaces as one space (wrapped text reads whole)."""
    return " ".join(text.split())


def test_page_count_is_cover_schools_posts_workers_and_sign_in_sheets(packet: PdfReader) -> None:
    # V1 has school S1 with chosen posts P1, P2 (P3 was not chosen), workers W&1 and W2,
    # floater F1, and a sign-in sheet per weekday
    assert len(packet.pages) == 1 + 1 + 2 + 3 + 5


def test_pages_are_us_letter(packet: PdfReader) -> None:
    box = packet.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (612.0, 792.0)


def test_text_holds_post_ids_cross_streets_and_shift_times(text: str) -> None:
    for expected in ("P1", "P2", "N-S 1 & E-W 0", "07:15–08:15", "14:45–15:30", "2016-09-06"):
        assert expected in text, expected
    assert "P3" not in text


def test_text_holds_worker_ids_per_weekday(packet: PdfReader) -> None:
    post_page = packet.pages[2].extract_text()
    assert "W&1" in post_page
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        assert day in post_page


def test_packet_prints_no_origins_or_student_counts(plan: Plan, text: str) -> None:
    assert "student" not in text.lower()
    assert "O1" not in text
    assert "120" not in text  # students served by route R1
    assert "440300" not in text  # an origin's coordinate


def test_packet_carries_street_names_and_osm_attribution(text: str) -> None:
    assert "N-S 1" in text
    assert "OpenStreetMap contributors" in text


def test_other_vendor_gets_its_own_school_and_posts(plan: Plan, tmp_path: Path) -> None:
    reader = PdfReader(post_packet(plan, "V2", tmp_path / "v2.pdf"))
    assert len(reader.pages) == 1 + 1 + 1 + 1 + 5  # S2, P4, W3, Mon-Fri
    assert "P4" in reader.pages[0].extract_text()


def test_unknown_vendor_raises_data_error_listing_known_vendors(plan: Plan, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="V1, V2"):
        post_packet(plan, "V9", tmp_path / "x.pdf")


def test_names_with_dollar_signs_print_as_text(plan: Plan, tmp_path: Path) -> None:
    schools = plan.schools.copy()
    schools.loc[schools["school_id"] == "S2", "name"] = "$5 $ Academy"
    reader = PdfReader(
        post_packet(dataclasses.replace(plan, schools=schools), "V2", tmp_path / "d.pdf")
    )
    assert "$5 $ Academy" in reader.pages[0].extract_text()


def test_failed_packet_leaves_the_earlier_file_intact(
    plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "v1.pdf"
    target.write_bytes(b"earlier")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(printed_module, "_post_page", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        post_packet(plan, "V1", target)
    assert target.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["v1.pdf"]


def test_long_place_ids_print_whole_on_the_cover(plan: Plan, tmp_path: Path) -> None:
    long_id = "609768_MartinLutherKing_Garfield_12"  # a school id and two long streets
    posts = plan.posts.assign(post_id=plan.posts["post_id"].replace({"P1": long_id}))
    roster = plan.roster.assign(post_id=plan.roster["post_id"].replace({"P1": long_id}))
    renamed = dataclasses.replace(plan, posts=posts, roster=roster)
    cover = PdfReader(post_packet(renamed, "V1", tmp_path / "v1.pdf")).pages[0].extract_text()
    assert long_id in flat(cover)
    assert "…" not in cover


def test_a_long_mid_block_label_prints_whole_on_cover_key_and_post_page(
    plan: Plan, tmp_path: Path
) -> None:
    label = "S Martin Luther King Dr between E Garfield Blvd and E 57th St, 160 m from E 57th St"
    posts = plan.posts.copy()
    posts.loc[posts["post_id"] == "P1", "cross_streets"] = label
    reader = PdfReader(
        post_packet(dataclasses.replace(plan, posts=posts), "V1", tmp_path / "l.pdf")
    )
    cover, key, post = (flat(reader.pages[i].extract_text()) for i in (0, 1, 2))
    assert label in cover
    assert label in post
    assert "160 m from E 57th St" in key  # wrapped onto a second line, not cut
    assert "…" not in cover + key + post


@pytest.mark.parametrize(
    ("label", "embedded"),
    [
        ("S Avenida Peña Blvd & W 63rd St", False),  # WinAnsi: the core fonts print it
        ("S Łódź Ave & W 63rd St", True),  # not WinAnsi: TrueType is embedded instead
    ],
)
def test_non_ascii_street_names_print_as_text(
    plan: Plan, tmp_path: Path, label: str, embedded: bool
) -> None:
    posts = plan.posts.copy()
    posts.loc[posts["post_id"] == "P1", "cross_streets"] = label
    path = post_packet(dataclasses.replace(plan, posts=posts), "V1", tmp_path / "n.pdf")
    reader = PdfReader(path)
    assert label in flat(reader.pages[0].extract_text())
    assert label in flat(reader.pages[2].extract_text())
    assert (b"/FontFile2" in path.read_bytes()) is embedded


# ------------------------------------------------------------------ supervisor pages
def page_texts(packet: PdfReader) -> list[str]:
    return [flat(page.extract_text()) for page in packet.pages]


def pages_starting(packet: PdfReader, start: str) -> list[str]:
    return [t for t in page_texts(packet) if t.startswith(start)]


def test_cover_carries_the_vendor_contact_and_its_floaters(packet: PdfReader) -> None:
    cover = flat(packet.pages[0].extract_text())
    assert "Contact: Dana Reyes · 773-555-0100" in cover
    assert "Flo Rivera" in cover
    assert "773-555-0199" in cover
    assert "at post 2: N-S 2 & E-W 0" in cover  # F1 stands by at P2, post 2 of this packet
    assert "Mon, Wed, Fri" in cover


def test_a_vendor_without_contact_prints_none(plan: Plan, tmp_path: Path) -> None:
    cover = PdfReader(post_packet(plan, "V2", tmp_path / "v2.pdf")).pages[0].extract_text()
    assert "Contact" not in cover
    assert "Phone" not in cover
    assert "nan" not in cover.lower()
    assert "Floaters" not in cover  # V2 has none


def test_each_worker_gets_a_page_with_their_week_and_hours(packet: PdfReader) -> None:
    (named,) = pages_starting(packet, "Worker W&1")
    assert "Worker W&1: Ana Núñez" in named
    assert "Phone: 773-555-0111" in named
    assert "Weekly hours: 10 (10 shifts on 5 days)" in named  # ten 60-minute shifts
    assert named.count("N-S 1 & E-W 0") == 10
    assert "14:45–15:30" in named
    (unnamed,) = pages_starting(packet, "Worker W2")
    assert "Phone" not in unnamed  # W2 has neither name nor phone
    assert "Weekly hours: 2 (2 shifts on 2 days)" in unnamed
    assert unnamed.count("off") == 8  # Mon and Tue mornings only


def test_a_floater_page_says_where_they_stand_by_and_that_they_cover(packet: PdfReader) -> None:
    (page,) = pages_starting(packet, "Floater F1")
    assert "Flo Rivera" in page
    assert "Covers absences" in page
    assert "Otherwise stand by at post 2: N-S 2 & E-W 0." in page
    assert page.count("stand by at post 2") == 1 + 6  # and Mon, Wed, Fri x AM, PM
    assert page.count("off") == 4  # Tue and Thu


def test_a_sign_in_sheet_per_weekday_lists_that_days_posts_with_blank_rows(
    packet: PdfReader,
) -> None:
    sheets = pages_starting(packet, "Sign-in sheet")
    days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert [next(d for d in s.split() if d in days) for s in sheets] == days
    monday, wednesday = sheets[0], sheets[2]
    for column in ("Time in", "Time out", "Signature"):
        assert column in monday
    assert monday.count("W&1") == 2  # AM and PM at post 1
    assert "W2" in monday  # W2 works Mon and Tue mornings
    assert "W2" not in wednesday
    assert monday.count("Substitute:") == printed_module.SIGN_IN_BLANK_ROWS


def test_every_page_prints_no_student_data(plan: Plan, packet: PdfReader) -> None:
    words = set(" ".join(page_texts(packet)).split())
    assert not any("student" in w.lower() for w in words)
    origins = set(plan.origins["origin_id"]) if plan.origins is not None else set()
    assert origins
    assert not origins & words
    served = {str(n) for n in plan.corridors["students_served"]}
    assert not served & words  # students per route (120, 45)


LONG_SCHOOL = (
    "The Doctor Martin Luther King Junior College Preparatory Academy of Greater Englewood "
    "and West Englewood, North Campus"
)
LONG_STREET = (
    "S Doctor Martin Luther King Junior Drive between E Garfield Boulevard and "
    "E Fifty-Seventh Street, 160 m from E Fifty-Seventh Street (west side)"
)
LONG_PERSON = "Maria-Guadalupe Fernández-Villaseñor de la Cruz y Montenegro"


def test_no_text_runs_past_its_cell_or_the_page(plan: Plan) -> None:
    schools = plan.schools.copy()
    schools.loc[schools["school_id"] == "S1", "name"] = LONG_SCHOOL
    posts = plan.posts.copy()
    posts.loc[posts["post_id"] == "P1", "cross_streets"] = LONG_STREET
    staff = plan.staff.assign(name=plan.staff["name"].replace({"Ana Núñez": LONG_PERSON}))
    vendors = plan.vendors.assign(contact=[LONG_PERSON, ""])
    floaters = plan.floaters.assign(name=LONG_PERSON, post_id="P1")
    long = dataclasses.replace(
        plan, schools=schools, posts=posts, staff=staff, vendors=vendors, floaters=floaters
    )
    pages = cells = 0
    for fig in printed_module.packet_pages(long, "V1"):  # one by one, drawn as the PDF does
        cells += texts_inside(fig)
        pages += 1
    assert pages == 12
    assert cells > 200  # the tables were checked, not skipped


def test_a_plan_without_staff_or_floaters_gets_worker_pages_from_the_roster(
    plan: Plan, tmp_path: Path
) -> None:
    bare = dataclasses.replace(plan, staff=plan.staff.iloc[:0], floaters=plan.floaters.iloc[:0])
    reader = PdfReader(post_packet(bare, "V1", tmp_path / "bare.pdf"))
    assert len(reader.pages) == 1 + 1 + 2 + 2 + 5  # W&1 and W2, no floater
    workers = pages_starting(reader, "Worker")
    assert [t.split()[1] for t in workers] == ["W&1", "W2"]
    assert "Phone" not in " ".join(workers)


def test_a_packet_is_written_the_same_twice(plan: Plan, tmp_path: Path) -> None:
    first = post_packet(plan, "V2", tmp_path / "a.pdf").read_bytes()
    assert post_packet(plan, "V2", tmp_path / "b.pdf").read_bytes() == first
