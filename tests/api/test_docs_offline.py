"""The API documentation pages load nothing from another host: no CDN script, stylesheet, font or logo (README:
"served from the package, no CDN")."""

import re

import pytest
from django.contrib.staticfiles import finders

# Every URL a page would fetch: src/href attributes, CSS @import and url(...), and Redoc's spec URL.
FETCHED = re.compile(r"""(?:src|href)=["']([^"']+)["']|@import\s+["']([^"']+)["']|url\(\s*["']?([^"')]+)""")


def fetched_urls(html: str) -> list[str]:
    return [next(group for group in match if group) for match in FETCHED.findall(html)]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/redoc/", "/api/docs/"])
class TestDocumentationPages:
    def test_they_reference_no_external_host(self, anon, path):
        r = anon.get(path)

        assert r.status_code == 200
        html = r.content.decode()
        urls = fetched_urls(html)
        assert urls, "the page fetches its bundle: the pattern must find it"
        assert [url for url in urls if not url.startswith("/") or url.startswith("//")] == []
        assert not re.search(r"https?://", html), "no absolute URL at all, not even in a script"

    def test_their_bundles_are_served_from_the_package(self, anon, path):
        html = anon.get(path).content.decode()

        static = [url.removeprefix("/static/") for url in fetched_urls(html) if url.startswith("/static/")]
        assert static and all(finders.find(name) for name in static)
