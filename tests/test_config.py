"""Loading and validating plan configurations."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from safepassage import config as config_module
from safepassage.config import (
    DATA_ENV,
    HazardConfig,
    MandatoryPost,
    PlanConfig,
    config_from_dict,
    config_template,
    default_data_root,
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
    assert config.posts.per_school is None  # no cap: the budget follows per_km
    assert config.posts.per_km == 5.5
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
    assert config.data.schools.path == tmp_path / "schools.csv"
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


def test_nested_problems_name_the_table_and_the_list_index(tmp_path: Path) -> None:
    extra = (
        '[data.hazards.lots]\npath = "schools.csv"\nweight = -1\n'
        '[[posts.mandatory]]\nschool_id = "609791"\nlat = 41.77\nlon = -87.64\n'
        "[[posts.mandatory]]\nlat = 95.0\nlon = -87.64\n"
    )
    assert sorted(problems_of(write_minimal(tmp_path, extra))) == [
        "data.hazards.lots.weight: must be >= 0, got -1",
        "posts.mandatory[1].lat: must be <= 90, got 95.0",
        "posts.mandatory[1].school_id: is required",
    ]


def test_problems_carry_no_pydantic_traceback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_minimal(tmp_path, "[posts]\nper_school = 0\n"))
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert info.value.problems == ["posts.per_school: must be >= 1, got 0"]
    assert "pydantic" not in str(info.value)


@pytest.mark.parametrize("clock", ["24:00", "07:60", "7:5", "07:30:00", "\u0660\u0667:30"])
def test_window_clocks_must_be_00_00_to_23_59(tmp_path: Path, clock: str) -> None:
    extra = f'[windows]\nam = ["06:00", "09:00"]\ndefault_start = "{clock}"\n'
    (problem,) = problems_of(write_minimal(tmp_path, extra))
    assert problem.startswith("windows.default_start: must be a time of day HH:MM")


def test_window_clocks_are_zero_padded(tmp_path: Path) -> None:
    config = load_config(write_minimal(tmp_path, '[windows]\nam = ["6:30", "9:00"]\n'))
    assert config.windows.am == ("06:30", "09:00")


def fake_checkout(monkeypatch: pytest.MonkeyPatch, checkout: Path) -> None:
    """Make safepassage.config believe it lives in ``checkout``; unset $SAFEPASSAGE_DATA."""
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setattr(config_module, "__file__", str(checkout / "safepassage" / "config.py"))


def shared_file(folder: Path) -> Path:
    """``folder/shared/data/chicago/schools/x.csv``, created."""
    path = folder / "shared" / "data" / "chicago" / "schools" / "x.csv"
    path.parent.mkdir(parents=True)
    path.write_text("SCHOOL_ID,SCHOOL_NM,X,Y\n")
    return path


def test_data_root_is_beside_the_checkout_not_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_checkout(monkeypatch, tmp_path / "work" / "main")
    beside_checkout = shared_file(tmp_path / "work")
    shared_file(tmp_path / "plans")  # a decoy beside the config
    config_dir = tmp_path / "plans" / "mine"
    config_dir.mkdir()
    path = write_minimal(config_dir)
    path.write_text(path.read_text().replace('"schools.csv"', '"data:schools/x.csv"'))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert load_config(path).data.schools.path == beside_checkout


def test_without_data_beside_the_checkout_it_is_searched_up_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_checkout(monkeypatch, tmp_path / "work" / "main")
    found = shared_file(tmp_path / "home")
    deep = tmp_path / "home" / "me" / "deep"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert default_data_root() == found.parents[1]
    path = write_minimal(tmp_path)
    path.write_text(path.read_text().replace('"schools.csv"', '"data:schools/x.csv"'))
    assert load_config(path).data.schools.path == found


def template_keys(text: str) -> dict[str, list[tuple[str, str]]]:
    """Template table header -> its (key, comment above the key) pairs, commented or not."""
    tables: dict[str, list[tuple[str, str]]] = {}
    lines = text.splitlines()
    for above, line in zip(["", *lines], lines, strict=False):
        if header := re.fullmatch(r"(?:# )?\[+([\w.]+)\]+", line):
            table = tables.setdefault(header[1], [])
        elif key := re.fullmatch(r"(?:# )?(\w+) = .+", line):
            table.append((key[1], above))
    return tables


def test_template_names_every_field_with_its_description() -> None:
    nested = {"data.hazards.NAME": HazardConfig, "posts.mandatory": MandatoryPost}
    models = {
        name: field.annotation
        for name, field in PlanConfig.model_fields.items()
        if name != "config_path"
    }
    tables = template_keys(config_template())
    assert set(tables) == set(models) | set(nested)
    for table, model in {**models, **nested}.items():
        tables_of_tables = {"data.hazards", "posts.mandatory"}  # written as their own tables
        fields = {
            k: f for k, f in model.model_fields.items() if f"{table}.{k}" not in tables_of_tables
        }
        assert [key for key, _ in tables[table]] == list(fields), table
        for key, above in tables[table]:
            description = fields[key].description
            assert description, (table, key)
            assert above.startswith(f"# {description}, "), (table, key, above)


def test_template_loads_and_holds_the_model_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    monkeypatch.setenv(DATA_ENV, str(root))
    text = config_template()
    required = tomllib.loads(text)["data"]
    for name in [*required["networks"], required["schools"]]:
        assert name.startswith("data:")
        file = root / name.removeprefix("data:")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(b"")
    path = tmp_path / "plan.toml"
    path.write_text(text)
    only_required = {"data": {"networks": required["networks"], "schools": required["schools"]}}
    assert load_config(path) == config_from_dict(only_required, config_path=path)


def test_template_lists_the_inline_table_form_and_every_canonical_column() -> None:
    from safepassage.config import TABLE_COLUMNS, TableInput

    text = config_template()
    tail = text[text.index("# Table inputs") :]
    for key, field in TableInput.model_fields.items():
        assert f"#   {key}: {field.description}" in tail
    for kind, names in TABLE_COLUMNS.items():
        block = tail[tail.index(f"#   {kind}:\n") :]
        for name, description in names.items():
            assert f"#     {name}: {description}\n" in block, (kind, name)


def test_a_table_input_is_a_path_or_an_inline_table(tmp_path: Path) -> None:
    (tmp_path / "s.gpkg").write_bytes(b"")
    (tmp_path / "walk.graphml").write_bytes(b"")
    inline = {"path": "s.gpkg", "columns": {"school_id": "CODE"}, "crs": "EPSG:2272"}
    for schools in ("s.gpkg", {**inline, "layer": "points"}):
        raw = {"data": {"networks": ["walk.graphml"], "schools": schools}}
        config = config_from_dict(raw, config_path=tmp_path / "plan.toml")
        assert config.data.schools.path == tmp_path / "s.gpkg"
        dumped = config.to_dict()["data"]["schools"]
        if isinstance(schools, str):  # the manifest writes the short form back
            assert dumped == str(tmp_path / "s.gpkg")
        else:
            assert dumped == {**inline, "path": str(tmp_path / "s.gpkg"), "layer": "points"}
        assert config_from_dict(config.to_dict()) == config
    assert config.data.schools.columns == {"school_id": "CODE"}
    assert config.data.schools.layer == "points"
