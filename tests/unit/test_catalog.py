import pytest

from deploybot.domain.catalog import CatalogError, load_catalog, resolve_name


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("apps.yml")


def test_demo_catalog_has_the_six_apps(catalog):
    assert list(catalog.apps) == ["cms", "shop", "crm", "billing", "search", "intranet"]
    assert catalog.app("cms").name == "Content Management System"
    assert catalog.app("shop").aliases == ("webshop", "web shop", "online shop", "store")


@pytest.mark.parametrize(
    "written, expected",
    [
        ("cms", "cms"), ("CMS", "cms"), ("content management system", "cms"), ("Content Management", "cms"),
        ("cmss", "cms"), ("biling", "billing"), ("Web Shop", "shop"), ("webshpo", "shop"), ("invoicing", "billing"),
        ("search api", "search"), ("intarnet", "intranet"), ("Intranet Portal", "intranet"),
    ],
)
def test_apps_resolve_by_id_alias_name_and_small_typos(catalog, written, expected):
    assert catalog.resolve_app(written) == expected


@pytest.mark.parametrize("written", ["payroll", "cm", "crs", "", "shopping cart"])
def test_unknown_short_or_ambiguous_names_do_not_resolve(catalog, written):
    # "crs" is one edit from both cms and crm: never guess.
    assert catalog.resolve_app(written) is None


@pytest.mark.parametrize(
    "written, expected",
    [("prod", "production"), ("PRD", "production"), ("live", "production"), ("stage", "staging"),
     ("stg", "staging"), ("prodution", "production"), ("stagin", "staging")],
)
def test_environments_resolve(catalog, written, expected):
    assert catalog.resolve_environment(written) == expected


def test_lenient_resolution_allows_one_edit_in_three_letters():
    names = {"shop": "shop", "cms": "cms", "crm": "crm"}
    assert resolve_name("shp", names) is None
    assert resolve_name("shp", names, lenient=True) == "shop"
    assert resolve_name("crs", names, lenient=True) is None  # ambiguous


def test_a_spelling_claimed_by_two_apps_is_an_error(tmp_path):
    path = tmp_path / "apps.yml"
    path.write_text(
        "environments: {staging: {aliases: []}}\n"
        "apps:\n"
        "  a: {name: A, aliases: [portal], jenkins_job: a, environments: [staging]}\n"
        "  b: {name: B, aliases: [portal], jenkins_job: b, environments: [staging]}\n"
    )
    with pytest.raises(CatalogError, match="'portal' names both a and b"):
        load_catalog(path)


@pytest.mark.parametrize(
    "apps, message",
    [
        ("  a: {name: A, jenkins_job: a, environments: [qa]}", "must list known environments"),
        ("  a: {name: A, environments: [staging]}", "needs a 'name' and a 'jenkins_job'"),
        ("  Bad App: {name: A, jenkins_job: a, environments: [staging]}", "lowercase"),
    ],
)
def test_malformed_catalogs_say_where(tmp_path, apps, message):
    path = tmp_path / "apps.yml"
    path.write_text("environments: {staging: {aliases: []}}\napps:\n" + apps + "\n")
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


def test_missing_catalog_says_so(tmp_path):
    with pytest.raises(CatalogError, match="no such app catalog"):
        load_catalog(tmp_path / "nope.yml")


def test_a_catalog_that_is_no_mapping_says_so(tmp_path):
    (tmp_path / "apps.yml").write_text("- cms\n- shop\n")
    with pytest.raises(CatalogError, match="must be a YAML mapping"):
        load_catalog(tmp_path / "apps.yml")
