"""Sign-in, the session cookie, CSRF, sandbox switching and the catalog, over plain HTTP."""

from __future__ import annotations

from typing import Any

from ui_support import SALESFORCE_SPEC_ID, csrf_of


def sign_in(http: Any, credentials: Any) -> Any:
    token = csrf_of(http.get("/ui/login").text)
    return http.post(
        "/ui/login",
        data={
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "csrf_token": token,
            "next": "/ui/sources",
        },
        follow_redirects=False,
    )


def test_root_leads_to_sign_in(ui_http: tuple[Any, Any]) -> None:
    http, _ = ui_http
    response = http.get("/", follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url).endswith("/ui/login?next=/ui/")
    assert 'name="client_secret"' in response.text and 'type="password"' in response.text


def test_pages_need_a_session(ui_http: tuple[Any, Any]) -> None:
    http, _ = ui_http
    response = http.get("/ui/sources", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=/ui/sources"
    htmx = http.get("/ui/sources", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 204 and htmx.headers["hx-redirect"].startswith("/ui/login")


def test_sign_in_sets_a_protected_cookie(ui_http: tuple[Any, Any]) -> None:
    http, credentials = ui_http
    response = sign_in(http, credentials)
    assert response.status_code == 303 and response.headers["location"] == "/ui/sources"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui" in cookie
    assert credentials.client_secret not in response.headers["set-cookie"]
    catalog = http.get("/ui/sources")
    assert catalog.status_code == 200 and SALESFORCE_SPEC_ID in catalog.text
    assert credentials.client_id in http.get("/ui/").text


def test_wrong_secret_is_refused_with_a_reason(ui_http: tuple[Any, Any]) -> None:
    http, credentials = ui_http
    token = csrf_of(http.get("/ui/login").text)
    response = http.post(
        "/ui/login",
        data={"client_id": credentials.client_id, "client_secret": "not-it", "csrf_token": token},
    )
    assert response.status_code == 401
    assert "do not match an API client" in response.text
    assert http.get("/ui/sources", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_rejected(ui_http: tuple[Any, Any]) -> None:
    http, credentials = ui_http
    http.get("/ui/login")
    response = http.post(
        "/ui/login",
        data={"client_id": credentials.client_id, "client_secret": credentials.client_secret},
    )
    assert response.status_code == 403 and "Form expired" in response.text
    assert sign_in(http, credentials).status_code == 303
    forged = http.post("/ui/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert http.get("/ui/sources", follow_redirects=False).status_code == 200  # still signed in
    token = csrf_of(http.get("/ui/").text)
    via_header = http.post("/ui/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert via_header.status_code == 303
    assert http.get("/ui/sources", follow_redirects=False).status_code == 303  # signed out


def test_sign_in_never_redirects_off_site(ui_http: tuple[Any, Any]) -> None:
    http, credentials = ui_http
    token = csrf_of(http.get("/ui/login").text)
    response = http.post(
        "/ui/login",
        data={
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/ui/"


def test_sandbox_switcher(ui_http: tuple[Any, Any]) -> None:
    from headwater.store import tenants

    http, credentials = ui_http
    state = http.app.state.headwater
    with state.sessions() as session, session.begin():
        tenants.create_sandbox(session, credentials.org_id, "dev")
    sign_in(http, credentials)
    home = http.get("/ui/")
    assert '<option value="dev"' in home.text and "sandbox <code>prod</code>" in home.text

    def switch(sandbox: str, page: str) -> str:
        data = {"sandbox": sandbox, "next": "/ui/", "csrf_token": csrf_of(page)}
        assert http.post("/ui/sandbox", data=data, follow_redirects=False).status_code == 303
        text: str = http.get("/ui/").text
        return text

    home_text = switch("dev", home.text)
    assert "sandbox <code>dev</code>" in home_text and "Switched to sandbox dev." in home_text
    home_text = switch("nope", home_text)
    assert "There is no sandbox named" in home_text and "sandbox <code>dev</code>" in home_text


def test_catalog_search(ui_http: tuple[Any, Any]) -> None:
    http, credentials = ui_http
    sign_in(http, credentials)
    assert SALESFORCE_SPEC_ID in http.get("/ui/sources", params={"q": "crm"}).text
    fragment = http.get("/ui/sources", params={"q": "sales"}, headers={"HX-Request": "true"})
    assert SALESFORCE_SPEC_ID in fragment.text and "<html" not in fragment.text
    none = http.get("/ui/sources", params={"q": "zzz-nothing"})
    assert SALESFORCE_SPEC_ID not in none.text and "No source matches" in none.text
    # the target-only Data Lake spec is not a source
    assert "c604ff05-7f1a-43c0-8e18-33bf874cb11c" not in http.get("/ui/sources").text


def test_unknown_page_is_a_page_not_a_json_error(ui_http: tuple[Any, Any]) -> None:
    http, credentials = ui_http
    sign_in(http, credentials)
    response = http.get("/ui/no-such-page")
    assert response.status_code == 404 and "Page not found" in response.text


def test_static_assets_are_served(ui_http: tuple[Any, Any]) -> None:
    http, _ = ui_http
    assert http.get("/ui/static/app.css").status_code == 200
    script = http.get("/ui/static/vendor/htmx-2.0.11.min.js")
    assert script.status_code == 200 and "htmx" in script.text
