from tests.backoffice.conftest import issue, ok


def test_sqlite_server_issues_and_restarts(backoffice):
    t = ok(issue(backoffice), 201)
    assert t["number"] == "A-001"
    backoffice.restart()
    assert ok(issue(backoffice), 201)["number"] == "A-002"


def test_postgres_server_issues(backoffice_pg):
    assert ok(issue(backoffice_pg), 201)["number"] == "A-001"
