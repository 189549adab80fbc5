from __future__ import annotations


def test_chinese_by_default_even_for_an_english_browser(world):
    client = world.client("chief")
    response = client.get("/territory/grids/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"
    assert "网格" in response.content.decode()


def test_switching_to_english_sticks_and_is_remembered(world):
    client = world.client("chief")
    response = client.post("/accounts/language/", {"language": "en", "next": "/territory/grids/"})
    assert response.status_code == 302 and response["Location"] == "/territory/grids/"
    page = client.get("/territory/grids/").content.decode()
    assert "Grids" in page and "网格" not in page.split("<main>")[1].split("</main>")[0]
    world.users["chief"].refresh_from_db()
    assert world.users["chief"].language == "en"
    # Back to Chinese.
    client.post("/accounts/language/", {"language": "zh-hans"})
    assert client.get("/territory/grids/")["Content-Language"] == "zh-hans"


def test_an_unknown_language_is_ignored(world):
    client = world.client("chief")
    client.post("/accounts/language/", {"language": "fr"})
    assert client.get("/")["Content-Language"] == "zh-hans"


def test_login_page_can_switch_language(client, db):
    client.post("/accounts/language/", {"language": "en", "next": "/accounts/login/"})
    assert "Log in" in client.get("/accounts/login/").content.decode()
