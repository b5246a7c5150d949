"""MkDocs hooks of the user guide (named in mkdocs.yml; not a page: excluded from the site).

* The generated message reference (docs/messages) links to sections of the repository's README, which
  is not part of the site. Each such link is pointed at the guide page that holds the same section
  (``README_SECTIONS``); a README section missing there stays a broken link, so ``--strict`` fails.
* The site's root (the guide's pages live under guide/) redirects to the guide's home page.
* ``SphinxRoles``, a griffe extension (mkdocs.yml names it for mkdocstrings): the docstrings cross-refer
  in Sphinx's style (``:class:`~ocpprpc.roles.Role```), which Markdown would show as is; the API
  reference shows such a reference as code, ``Role``.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

import griffe

README_SECTIONS = {
    "differences-from-the-wsdls-on-purpose": "guide/handlers-and-calls.md#differences-from-the-wsdls-on-purpose",
}
"""README.md anchor → the guide page and anchor holding that section (paths from docs/)."""

_README_LINK = re.compile(r"\]\(((?:\.\./)+)README\.md#([A-Za-z0-9_-]+)\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    page_dir = posixpath.dirname(page.file.src_uri)
    depth = len([part for part in page_dir.split("/") if part])

    def rewrite(match: re.Match[str]) -> str:
        ups, anchor = match.group(1).count("../"), match.group(2)
        target = README_SECTIONS.get(anchor)
        if ups <= depth or target is None:  # a README inside docs/, or a section the guide lacks
            return match.group(0)
        return "](" + posixpath.relpath(target.split("#")[0], page_dir or ".") + "#" + target.split("#")[1] + ")"

    return _README_LINK.sub(rewrite, markdown)


_REDIRECT = """<!doctype html>
<meta charset="utf-8">
<title>ocpprpc</title>
<meta http-equiv="refresh" content="0; url=guide/">
<link rel="canonical" href="guide/">
<p><a href="guide/">The ocpprpc user guide</a></p>
"""


def on_post_build(config: Any) -> None:
    site_dir = config["site_dir"]
    index = posixpath.join(site_dir, "index.html")
    try:
        with open(index, "x", encoding="utf-8") as file:  # never over a page of the site's own
            file.write(_REDIRECT)
    except FileExistsError:
        pass


_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj):`(~?)([^`<]*?)\s*(?:<([^`>]*)>)?`")


def _role_as_code(match: re.Match[str]) -> str:
    tilde, text, target = match.group(1), match.group(2).strip(), match.group(3)
    if target is not None:  # :meth:`shown text <target>`
        return f"`{text}`"
    return f"`{text.rsplit('.', 1)[-1] if tilde else text}`"


class SphinxRoles(griffe.Extension):
    """Sphinx cross-reference roles in docstrings become inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_role_as_code, obj.docstring.value)

    on_object = on_instance  # also once the tree is complete: a package's docstring is set after its instance
