"""Loading and validating plan configurations."""

from __future__ import annotations

from pathlib import Path

import pytest

from safepassage.config import (
    DATA_ENV,
    PlanConfig,
    config_from_dict,
    load_config,
)
from safepassage.errors import ConfigError

EXAMPLES = Path(__file__).parent.parent / "data" / "examples"


def write_minimal(folder: Path, extra: str = "") -> Path:
    """A config naming two empty input files beside it, plus ``extra`` TOML."""
    (folder / "walk.graphml").write_text("<graphml/>")
    (folder / "schools.csv").write_text("SCHOOL_ID,SCHOOL_NM,X,Y\n")
    path = folder / "plan.toml"
    path.write_text(
        '[plan]\nname = "mini"\n\n[data]\nnetworks = ["walk.graphml"]\n'
        'schools = "schools.csv"\n' + extra
    )
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_minimal_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    config = load_config(write_minimal(tmp_path))
    assert config.seed == 0
    assert config.timezone == "America/Chicago"
    assert config.plan_date == ""
    assert config.windows.am == ("06:30", "09:00")
    assert config.routes.radius_elementary_m == 2400.0
    assert config.posts.per_school == 8
    assert config.staffing.floater_share == 0.1
    assert config.output.dir == tmp_path / "out" / "mini"


def test_config_round_trips_through_to_dict(tmp_path: Path) -> None:
    extra = (
        '[data.hazards.lots]\npath = "schools.csv"\nweight = 0.5\n'
        "[risk.category_weights]\nHOMICIDE = 3.0\n"
        '[[posts.mandatory]]\nschool_id = "609791"\nlat = 41.77\nlon = -87.64\n'
    )
    config = load_config(write_minimal(tmp_path, extra))
    rebuilt = config_from_dict(config.to_dict())
    assert rebuilt == config
    assert isinstance(rebuilt, PlanConfig)


def test_relative_paths_are_read_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_minimal(tmp_path)
    monkeypatch.chdir(Path(__file__).parent)
    config = load_config(path)
    assert config.data.schools == tmp_path / "schools.csv"
    assert config.data.networks == (tmp_path / "walk.graphml",)


def test_data_prefix_resolves_against_safepassage_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shared"
    (root / "osm").mkdir(parents=True)
    (root / "osm" / "area.graphml.gz").write_bytes(b"")
    monkeypatch.setenv(DATA_ENV, str(root))
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    path = write_minimal(config_dir)
    path.write_text(path.read_text().replace('"walk.graphml"', '"data:osm/area.graphml.gz"'))
    assert load_config(path).data.networks == (root / "osm" / "area.graphml.gz",)


def test_missing_data_prefixed_file_names_the_data_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "nowhere"))
    path = write_minimal(tmp_path)
    path.write_text(path.read_text().replace('"schools.csv"', '"data:schools/x.csv"'))
    (problem,) = problems_of(path)
    assert problem.startswith("data.schools: file not found")
    assert "nowhere" in problem
    assert DATA_ENV in problem


def test_every_kind_of_problem_is_reported_at_once_with_its_toml_path(tmp_path: Path) -> None:
    extra = (
        'incidents = ["missing.csv"]\ncolour = "red"\n'
        "[routes]\nradius_elementary_m = -5\n"
        '[windows]\nam = ["09:00", "06:30"]\ndefault_start = "8 o\'clock"\n'
        '[staffing]\nnum_workers = "two"\n'
        '[plans]\nname = "typo"\n'
    )
    problems = problems_of(write_minimal(tmp_path, extra))
    expected = [
        "data.incidents[0]: file not found",
        "data.colour: unknown key",
        "routes.radius_elementary_m: must be > 0, got -5",
        "windows.am: end 06:30 must be after start 09:00",
        "windows.default_start: must be a time of day HH:MM",
        "staffing.num_workers: must be an integer, got a string 'two'",
        "plans: unknown key",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected)


def test_config_error_message_names_the_file(tmp_path: Path) -> None:
    path = write_minimal(tmp_path, "[network]\nsnap_max_m = 0\n")
    with pytest.raises(ConfigError, match=r"1 problem\(s\) in .*plan\.toml"):
        load_config(path)


def test_required_inputs_are_reported_when_absent(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text('[plan]\nname = "x"\n')
    assert sorted(problems_of(path)) == [
        "data.networks: is required",
        "data.schools: is required",
    ]


def test_an_empty_network_list_is_a_problem(tmp_path: Path) -> None:
    path = write_minimal(tmp_path)
    path.write_text(path.read_text().replace('["walk.graphml"]', "[]"))
    assert problems_of(path) == ["data.networks: must not be empty"]


def test_invalid_toml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[plan\nname = ")
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        load_config(path)


def test_mandatory_post_needs_xy_or_latlon(tmp_path: Path) -> None:
    extra = '[[posts.mandatory]]\nschool_id = "609791"\nx = 445000.0\n'
    (problem,) = problems_of(write_minimal(tmp_path, extra))
    assert problem.startswith("posts.mandatory[0]: give either x and y")


def test_unknown_time_zone_and_bad_date_are_problems(tmp_path: Path) -> None:
    path = write_minimal(tmp_path)
    path.write_text(
        path.read_text().replace(
            'name = "mini"', 'name = "mini"\ntimezone = "Mars/Olympus"\ndate = "2016-13-01"'
        )
    )
    problems = problems_of(path)
    assert [p.split(":")[0] for p in problems] == ["plan.timezone", "plan.date"]


def test_example_configs_load(data_root: Path) -> None:
    for name in ("englewood", "west_side"):
        config = load_config(EXAMPLES / f"{name}.toml", data_root=data_root)
        assert config.name == name
        assert all(path.is_file() for path in config.data.input_files())
