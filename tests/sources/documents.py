"""The HTML pages and PDF files the source tests read, written here (never the brief's text).

PDFs are laid out by reportlab, a real PDF writer: a canvas for pages whose every line the test
chooses (a word split by a hyphen at a line end, a paragraph running on over a page break), and
platypus for text that reportlab itself flows and justifies across pages. The fidelity test reads
each of them with another reader too.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

Lines = list[str]  # a paragraph, as the lines the page shows


@dataclass(frozen=True)
class Page:
    """One page: an optional title in a large font, then paragraphs given line by line."""

    paragraphs: list[Lines]
    title: str | None = None


def canvas_pdf(
    pages: list[Page],
    *,
    header: str | None = None,
    footer: str | None = None,
    info: dict[str, str] | None = None,
) -> bytes:
    """A PDF drawn line by line: 11 pt text on 14 pt lines, a gap between paragraphs, the running
    ``header`` and ``footer`` (``{n}`` and ``{of}`` for the page number and count) on every page."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=letter, invariant=True)
    for n, page in enumerate(pages, 1):
        if header:
            pdf.setFont("Helvetica", 9)
            pdf.drawString(72, 750, header.format(n=n, of=len(pages)))
        if footer:
            pdf.setFont("Helvetica", 9)
            pdf.drawString(280, 40, footer.format(n=n, of=len(pages)))
        y = 700.0
        if page.title:
            pdf.setFont("Helvetica-Bold", 18)
            pdf.drawString(72, y, page.title)
            y -= 32
        pdf.setFont("Helvetica", 11)
        for paragraph in page.paragraphs:
            for line in paragraph:
                pdf.drawString(72, y, line)
                y -= 14
            y -= 9
        pdf.showPage()
    pdf.save()
    return with_info(out.getvalue(), info or {})


def flowed_pdf(title: str, paragraphs: list[str], *, header: str, info: dict[str, str] | None = None) -> bytes:
    """A PDF whose justified paragraphs reportlab flows over as many pages as they take, with a
    running header and a page number at the foot of each page."""
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    body = styles["BodyText"].clone("body", alignment=TA_JUSTIFY, fontSize=10.5, leading=14)

    def running(pdf, doc) -> None:  # type: ignore[no-untyped-def]
        pdf.saveState()
        pdf.setFont("Helvetica", 8)
        pdf.drawString(72, 752, header)
        pdf.drawString(300, 36, str(doc.page))
        pdf.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=letter, invariant=True)
    story = [Paragraph(title, styles["Title"]), *(Paragraph(p, body) for p in paragraphs)]
    doc.build(story, onFirstPage=running, onLaterPages=running)
    return with_info(out.getvalue(), info or {})


def with_info(pdf: bytes, info: dict[str, str]) -> bytes:
    """``pdf`` with its document information (``/Title``, ``/Author``, ``/Creator``, ...) set."""
    if not info:
        return pdf
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.metadata = info  # in place of reportlab's own ("untitled", "anonymous")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# A brief over three pages: a running header and footer, words split at line ends (one that is
# whole without its hyphen, a compound that keeps it, a name after a hyphen), a paragraph that
# runs on over a page break, and a producing tool's name where its title should be.
MEKONG_PAGES = [
    Page(
        title="Dams on the Lower Mekong",
        paragraphs=[
            [
                "The eleven mainstream dams proposed for the lower Mekong would block",
                "fish migration and trap the sedi-",
                "ment that the delta needs to stay above the sea.",
            ],
            [
                "Planners in Vientiane describe a long-term bet on hydropower exports,",
                "while their neighbours downstream count the cost in fisheries and in long-",
                "term damage to farmland that no compensation fund has yet priced.",
            ],
            [
                "Hydrological monitoring is funded by the U.S.-",
                "Japan partnership on the river, whose stations every riparian state can",
                "read, and it has paid for twelve of",
            ],
        ],
    ),
    Page(
        paragraphs=[
            [
                "them since the programme began, most of them on tributaries in Laos.",
            ],
            [
                "Cambodia's great lake shrank in two consecutive dry seasons, and the",
                "catch fell by a third as the flood pulse that feeds it weakened.",
            ],
        ]
    ),
    Page(
        paragraphs=[
            [
                "Regional cooperation through the river commission has not stopped a",
                "single project, since its members only notify one another of plans.",
            ],
        ]
    ),
]
MEKONG_INFO = {
    "/Title": "Microsoft Word - mekong_brief_v3.docx",
    "/Creator": "Microsoft® Word for Microsoft 365",
    "/Producer": "Microsoft® Word for Microsoft 365",
    "/Author": "Priya Raman; Kenji Ito",
    "/CreationDate": "D:20250602093000Z",
}


def mekong_pdf() -> bytes:
    return canvas_pdf(MEKONG_PAGES, header="Mekong Water Security Brief", footer="Page {n} of {of}", info=MEKONG_INFO)


# As GNU Enscript and Ghostscript write a plain text file: its title metadata is the tool's.
ENSCRIPT_INFO = {"/Title": "Enscript Output", "/Creator": "GNU Enscript 1.6.6", "/Producer": "GPL Ghostscript 10.00.0"}


def enscript_like_pdf() -> bytes:
    page = Page(
        paragraphs=[
            ["Groundwater Rights in the Punjab"],
            [
                "Tube wells drew the aquifer down by a metre a year through the last",
                "decade, and the state's free electricity for farms kept the pumps running.",
            ],
        ]
    )
    return canvas_pdf(
        [page, Page(paragraphs=[["Metering pilots have cut the draw where they run."]])], info=ENSCRIPT_INFO
    )


FLOWED_PARAGRAPHS = [
    "Coastal wetlands store carbon at rates several times higher than mature tropical forests, "
    "and most of it is held in waterlogged soils rather than in the plants themselves. When a "
    "mangrove stand is cleared for aquaculture, that buried carbon is exposed to air and returns "
    "to the atmosphere within a few decades.",
    "Several governments now count restored mangroves toward their national climate pledges. "
    "Indonesia, which holds the largest mangrove area of any country, set a target of restoring "
    "six hundred thousand hectares by the end of the decade, and has paid villages to replant "
    "abandoned shrimp ponds.",
    "Measuring what a restored site actually stores remains difficult. Soil cores must be taken "
    "to a depth of a metre or more, sediment accretion varies from one tidal creek to the next, "
    "and a replanted stand of a single species can fail within a few years when the water flow "
    "it needs was never restored.",
] * 5


def flowed_wetlands_pdf() -> bytes:
    return flowed_pdf(
        "Blue Carbon and Coastal Wetlands",
        FLOWED_PARAGRAPHS,
        header="Climate Policy Notes · Wetlands",
        info={"/Title": "Blue Carbon and Coastal Wetlands", "/Author": "A. Okafor, M. Lindqvist"},
    )


PDFS: dict[str, Callable[[], bytes]] = {
    "mekong.pdf": mekong_pdf,
    "groundwater.pdf": enscript_like_pdf,
    "wetlands.pdf": flowed_wetlands_pdf,
}
# The running lines each PDF above draws on every page (patterns of a whole line), as its writer
# knows them: another reader's text is compared without them.
RUNNING_LINES: dict[str, list[str]] = {
    "mekong.pdf": ["Mekong Water Security Brief", r"Page \d+ of \d+"],
    "wetlands.pdf": ["Climate Policy Notes · Wetlands", r"\d+"],
}


ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Orbital Debris and Allied Policy | Space Review</title>
  <meta name="author" content="Jane Doe">
  <link rel="canonical" href="https://example.org/2024/orbital-debris">
</head>
<body>
  <nav><ul>
    <li><a href="/">Home</a></li><li><a href="/about">About us</a></li>
    <li><a href="/subscribe">Subscribe to our newsletter</a></li>
  </ul></nav>
  <header><div class="logo">Space Review</div></header>
  <main><article>
    <h1>Orbital Debris and Allied Policy</h1>
    <p>Orbital debris has become a pressing concern for every spacefaring nation, and the allies
    are drafting shared rules for tracking it.</p>
    <p>The U.S. and Japan agreed in 2023 to share space domain awareness data, e.g. radar tracks
    and optical observations, with each other.</p>
    <p>Dr. Tanaka, who leads the program, said the partnership &ldquo;changes what either country
    can see&rdquo; in orbit.</p>
    <p>Critics argue that the agreement still leaves commercial operators without clear guidance
    on collision avoidance.</p>
  </article></main>
  <footer><p>Copyright 2024 Space Review. All rights reserved.</p>
    <a href="/privacy">Privacy policy</a></footer>
</body>
</html>
"""

# A page with a byline of its own line, under its title, and a list.
BYLINE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Chips, Subsidies and Allies | Policy Desk</title>
  <meta name="author" content="Priya Raman">
  <meta property="article:published_time" content="2025-06-02T08:00:00Z">
</head>
<body>
  <nav><a href="/">Policy Desk</a> <a href="/topics">Topics</a></nav>
  <main><article>
    <h1>Chips, Subsidies and Allies</h1>
    <p class="meta">By <a href="/people/priya-raman">Priya Raman</a> &middot;
      <time datetime="2025-06-02">June 2, 2025</time></p>
    <p>Export controls on advanced chips tightened through 2024, and allied governments followed
    with subsidy programmes of their own for new fabrication plants.</p>
    <h2>Where the money goes</h2>
    <ul>
      <li>Coastal provinces receive most of the grants for new plants by 2027.</li>
      <li>Inland provinces fund training for technicians and engineers.</li>
    </ul>
    <p>Critics say subsidies alone will not close the gap in advanced packaging.</p>
  </article></main>
  <footer><p>Policy Desk, all rights reserved.</p></footer>
</body>
</html>
"""

HTML_PAGES = {"debris.html": ARTICLE_HTML, "chips.html": BYLINE_HTML}
