"""One self-contained HTML page of everything measured: jinja2 templates (autoescape on) and inline SVG.

The page loads nothing (its Content-Security-Policy forbids any fetch and any script) and works from
``file://``. Every string that came from a user, a command or its output goes through autoescaping; the
only markup inserted unescaped is the SVG the plots module drew, which carries no store string.
"""

from __future__ import annotations

from dataclasses import dataclass

from perflab.report.html.model import ReportData, ResultView

__all__ = ["Page", "ReportData", "ResultView", "render_page"]


@dataclass
class Page:
    html: str
    sections: list[str]  # the section titles, in page order


def render_page(data: ReportData) -> Page:
    """The page for ``data``."""
    from importlib.resources import files

    import jinja2

    from perflab import __version__
    from perflab.report.html.sections import build_sections

    loader = jinja2.FileSystemLoader(str(files("perflab.report.html") / "templates"))
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False)
    sections = build_sections(data)
    html = env.get_template("page.html.j2").render(data=data, sections=sections, version=__version__)
    return Page(html, [s.title for s in sections])
