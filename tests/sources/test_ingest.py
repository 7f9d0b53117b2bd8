"""Ingest: finding the sources under a corpus folder and parsing each format into a Document."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from briefqa.errors import CorpusError, SourceError
from briefqa.records import Document
from briefqa.sources.ingest import SourceFile, assign_ids, discover, parse, scan, slugify

from .documents import ARTICLE_HTML

REPO = Path(__file__).resolve().parents[2]
BRIEF = REPO / "corpus" / "us-japan-space-alliance.txt"
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


# ---------------------------------------------------------------------------------------------
# helpers


def write(root: Path, relpath: str, content: str | bytes) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def source(root: Path, relpath: str) -> SourceFile:
    """The discovered SourceFile for ``relpath`` (so ids and hashes come from ``discover``)."""
    found = {f.relpath: f for f in discover(root)}
    assert relpath in found, f"{relpath} not discovered; found {sorted(found)}"
    return found[relpath]


def parse_file(root: Path, relpath: str, content: str | bytes) -> Document:
    write(root, relpath, content)
    return parse(source(root, relpath))


def make_pdf(
    pages: list[list[str]], *, title: str | None = None, author: str | None = None, encoding: str | None = None
) -> bytes:
    """A small, valid PDF (correct xref table) whose pages hold the given lines as real text."""
    objects: list[bytes] = [b"", b""]  # 1: catalog, 2: page tree; filled in below
    font_encoding = f" /Encoding {encoding}" if encoding else ""
    objects.append(f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica{font_encoding} >>".encode())
    font = len(objects)
    kids = []
    for lines in pages:
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {content} 0 R >>".encode()
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    info = ""
    if title or author:
        fields = (f" /Title ({title})" if title else "") + (f" /Author ({author})" if author else "")
        objects.append(f"<<{fields} >>".encode())
        info = f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# the default corpus


def test_default_corpus_brief_parses_with_its_title_and_exact_text() -> None:
    files = discover(BRIEF.parent)
    brief = next(f for f in files if f.relpath == BRIEF.name)
    doc = parse(brief)
    assert doc.title == "Is the U.S.-Japan Space Alliance Entering a New Era?"
    assert doc.text.encode("utf-8") == BRIEF.read_bytes()
    assert doc.id == "us-japan-space-alliance"
    assert doc.path == "us-japan-space-alliance.txt"
    assert doc.origin is None
    assert doc.content_hash == brief.content_hash


# ---------------------------------------------------------------------------------------------
# formats


def test_txt_keeps_text_verbatim_and_takes_title_from_first_line(tmp_path: Path) -> None:
    content = "\n  Quarterly Launch Review\n\nJapan launched three satellites. The U.S. launched nine.\n"
    doc = parse_file(tmp_path, "reports/launches.txt", content)
    assert doc.text == content
    assert doc.title == "Quarterly Launch Review"
    assert doc.origin is None
    assert doc.metadata == {}
    assert doc.id == "reports-launches"
    assert doc.path == "reports/launches.txt"


def test_txt_line_endings_are_normalized_and_bom_dropped(tmp_path: Path) -> None:
    doc = parse_file(tmp_path, "win.txt", b"\xef\xbb\xbfFirst line here.\r\nSecond line.\rThird.\r\n")
    assert doc.text == "First line here.\nSecond line.\nThird.\n"


def test_md_front_matter_sets_title_origin_and_metadata(tmp_path: Path) -> None:
    content = (
        "---\n"
        "title: Deterrence in Orbit\n"
        "origin: https://example.org/deterrence\n"
        "date: 2024-05-01\n"
        "authors:\n  - Kari Bingen\n  - Jun Kazeki\n"
        "---\n"
        "# A heading that is not the title\n\n"
        "Deterrence now extends to orbit.\n"
    )
    doc = parse_file(tmp_path, "deterrence.md", content)
    assert doc.title == "Deterrence in Orbit"
    assert doc.origin == "https://example.org/deterrence"
    assert doc.metadata["date"] == "2024-05-01"  # a YAML date becomes an ISO string
    assert doc.metadata["authors"] == ["Kari Bingen", "Jun Kazeki"]
    assert "title" not in doc.metadata and "origin" not in doc.metadata
    # the stored text is the body only: offsets index what follows the front matter
    assert doc.text == "# A heading that is not the title\n\nDeterrence now extends to orbit.\n"


def test_md_front_matter_datetime_becomes_an_iso_day(tmp_path: Path) -> None:
    # Every format's date takes one shape, the day (a citation names the day, not the minute).
    content = "---\ntitle: Timed\ndate: 2024-05-01 10:30:00\n---\nBody text here.\n"
    doc = parse_file(tmp_path, "timed.md", content)
    assert doc.metadata["date"] == "2024-05-01"


def test_md_front_matter_without_title_falls_back_to_heading(tmp_path: Path) -> None:
    content = "---\norigin: https://example.org/x\n---\n\nIntro paragraph first.\n\n## Space Norms ##\n\nText.\n"
    doc = parse_file(tmp_path, "norms.md", content)
    assert doc.title == "Space Norms"
    assert doc.origin == "https://example.org/x"


def test_md_without_front_matter_takes_title_from_first_heading(tmp_path: Path) -> None:
    content = "# Missile Warning Constellations\n\nJapan joined the program in 2024.\n\n# Later Heading\n"
    doc = parse_file(tmp_path, "notes/warning.markdown", content)
    assert doc.title == "Missile Warning Constellations"
    assert doc.text == content
    assert doc.metadata == {}
    assert doc.id == "notes-warning"


def test_txt_may_carry_front_matter_too(tmp_path: Path) -> None:
    doc = parse_file(tmp_path, "fm.txt", "---\ntitle: Plain With Fields\n---\nJust text.\n")
    assert doc.title == "Plain With Fields"
    assert doc.text == "Just text.\n"


def test_html_main_text_without_boilerplate_and_title_from_page(tmp_path: Path) -> None:
    doc = parse_file(tmp_path, "web/debris.html", ARTICLE_HTML)
    assert doc.title == "Orbital Debris and Allied Policy"
    for phrase in (
        "Orbital debris has become a pressing concern",
        "The U.S. and Japan agreed in 2023",
        "“changes what either country can see”",
        "without clear guidance on collision avoidance.",
    ):
        assert phrase in " ".join(doc.text.split()), phrase
    for boilerplate in ("Subscribe to our newsletter", "About us", "All rights reserved", "Privacy policy"):
        assert boilerplate not in doc.text
    assert doc.origin == "https://example.org/2024/orbital-debris"
    assert doc.metadata.get("authors") == ["Jane Doe"]
    assert "\r" not in doc.text
    assert doc.id == "web-debris"


def test_html_in_a_legacy_encoding_is_decoded(tmp_path: Path) -> None:
    html = (
        '<html><head><meta charset="windows-1252"><title>Caf\u00e9 Notes</title></head><body><article>'
        "<p>Caf\u00e9 owners in Z\u00fcrich followed the launch closely and talked about it all day long.</p>"
        "<p>The na\u00efve forecast was wrong, as the second stage performed better than expected.</p>"
        "</article></body></html>"
    )
    doc = parse_file(tmp_path, "cafe.htm", html.encode("cp1252"))
    assert "Café owners in Zürich" in doc.text
    assert "naïve" in doc.text


def test_pdf_text_layer_title_and_authors(tmp_path: Path) -> None:
    pdf = make_pdf(
        [
            ["Space Situational Awareness Report", "The U.S. and Japan share radar data."],
            ["Dr. Sato leads the joint team in Tokyo."],
        ],
        title="SSA Report",
        author="J. Sato",
    )
    doc = parse_file(tmp_path, "papers/ssa.pdf", pdf)
    assert doc.title == "SSA Report"
    assert doc.metadata["authors"] == ["J. Sato"]
    assert doc.metadata["pages"] == 2
    assert "The U.S. and Japan share radar data." in doc.text
    assert "Dr. Sato leads the joint team in Tokyo." in doc.text
    # page order is kept and pages are separated by a blank line
    assert doc.text.index("radar data") < doc.text.index("Dr. Sato")
    assert "\n\n" in doc.text
    assert doc.id == "papers-ssa"


def test_pdf_without_title_metadata_takes_first_line(tmp_path: Path) -> None:
    doc = parse_file(tmp_path, "untitled.pdf", make_pdf([["Launch Cadence in 2024", "It rose sharply."]]))
    assert doc.title == "Launch Cadence in 2024"


# ---------------------------------------------------------------------------------------------
# broken sources: SourceError naming the relative path and the reason


def assert_source_error(root: Path, relpath: str, content: str | bytes, *reason_words: str) -> SourceError:
    write(root, relpath, content)
    with pytest.raises(SourceError) as info:
        parse(source(root, relpath))
    err = info.value
    assert err.path == relpath
    assert str(err).startswith(f"{relpath}: ")
    for word in reason_words:
        assert word.lower() in err.reason.lower(), (word, err.reason)
    return err


def test_invalid_utf8_txt(tmp_path: Path) -> None:
    assert_source_error(tmp_path, "sub/latin1.txt", "Caf\u00e9 au lait.".encode("latin-1"), "UTF-8")


def test_malformed_yaml_front_matter(tmp_path: Path) -> None:
    content = "---\ntitle: ok\nauthors: [unclosed\n---\nBody.\n"
    assert_source_error(tmp_path, "bad.md", content, "front matter", "YAML")


def test_front_matter_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert_source_error(tmp_path, "list.md", "---\n- a\n- b\n---\nBody.\n", "front matter")


def test_garbage_pdf(tmp_path: Path) -> None:
    assert_source_error(tmp_path, "scans/garbage.pdf", b"this is not a pdf \x00\x01\x02\xff" * 20, "PDF")


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    assert_source_error(tmp_path, "image-only.pdf", make_pdf([[]]), "no text")


def test_html_with_no_main_text(tmp_path: Path) -> None:
    html = (
        "<html><head><title>Menu</title></head><body>"
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/about'>About</a></li></ul></nav>"
        "<footer><p>Copyright 2024 Example Inc.</p></footer></body></html>"
    )
    assert_source_error(tmp_path, "menu.html", html, "no main text")


def test_html_of_only_scripts(tmp_path: Path) -> None:
    html = "<html><head><script>var x = 1;</script></head><body><div id='app'></div></body></html>"
    assert_source_error(tmp_path, "app.html", html, "no main text")


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.html", "empty.pdf"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    assert_source_error(tmp_path, f"blank/{name}", b"", "empty")


@pytest.mark.parametrize("content", ["  \n\n\t \n", "\u00a0\u3000\n"])
def test_whitespace_only_file_is_reported_as_such(tmp_path: Path, content: str) -> None:
    assert_source_error(tmp_path, "spaces.txt", content, "only white space")


@pytest.mark.parametrize(
    ("front", "field", "said"),
    [
        ("title: [a, b, c]", "title", "must be text, not a list"),
        ("origin: 5", "origin", "must be text (the URL of the original), not the number 5"),
        ("title: {x: 1}", "title", "must be text, not a mapping"),
        ("authors: [Ann, [Bob]]", "authors", "must be text or a list of names"),
        ("date: true", "date", "must be a date or text, not true/false"),
    ],
)
def test_front_matter_field_of_the_wrong_type_is_a_parse_error_naming_it(
    tmp_path: Path, front: str, field: str, said: str
) -> None:
    assert_source_error(
        tmp_path, "typed.md", f"---\n{front}\n---\nSome text here.\n", f"front matter field '{field}' {said}"
    )


def test_front_matter_fields_of_the_right_types_are_kept(tmp_path: Path) -> None:
    write(
        tmp_path,
        "ok.md",
        "---\ntitle: T\norigin: https://example.org/x\ndate: 2025-04-11\nauthors: [Ann, Bob]\n---\nSome text here.\n",
    )
    doc = parse(source(tmp_path, "ok.md"))
    assert (doc.title, doc.origin, doc.metadata) == (
        "T",
        "https://example.org/x",
        {"date": "2025-04-11", "authors": ["Ann", "Bob"]},
    )


def test_front_matter_only_has_no_text(tmp_path: Path) -> None:
    assert_source_error(tmp_path, "only-fm.md", "---\ntitle: Nothing Else\n---\n\n", "no text")


def test_binary_file_with_text_suffix(tmp_path: Path) -> None:
    assert_source_error(tmp_path, "blob.txt", b"abc\x00def ghi", "binary")


# ---------------------------------------------------------------------------------------------
# discovery and ids


def test_discover_recursive_sorted_skips_dot_names_and_unsupported_suffixes(tmp_path: Path) -> None:
    for rel in [
        "a.txt",
        "b.md",
        "deep/er/c.html",
        "deep/d.pdf",
        "UPPER.MD",
        "notes.markdown",
        "page.htm",
        ".hidden.md",
        ".index/chunks.txt",
        "visible/.secret/e.md",
        "image.png",
        "data.json",
        "README",
        "doc.docx",
    ]:
        write(tmp_path, rel, "Some text here.")
    found = [f.relpath for f in discover(tmp_path)]
    assert found == sorted(["a.txt", "b.md", "deep/er/c.html", "deep/d.pdf", "UPPER.MD", "notes.markdown", "page.htm"])


def test_discovered_files_carry_path_and_content_hash(tmp_path: Path) -> None:
    write(tmp_path, "x.txt", "One.")
    write(tmp_path, "y.txt", "One.")
    write(tmp_path, "z.txt", "Two.")
    files = {f.relpath: f for f in discover(tmp_path)}
    assert files["x.txt"].path == tmp_path / "x.txt"
    assert files["x.txt"].content_hash == files["y.txt"].content_hash  # same bytes, same hash
    assert files["x.txt"].content_hash != files["z.txt"].content_hash
    write(tmp_path, "x.txt", "One, changed.")
    assert source(tmp_path, "x.txt").content_hash != files["x.txt"].content_hash


def test_ids_are_url_safe_unique_and_stable(tmp_path: Path) -> None:
    rels = [
        "Reports 2024/Q1 Überblick (final).md",
        "reports-2024/q1.txt",
        "日本/宇宙.md",
        "日本/衛星.md",
        "a/b/c.txt",
        "a-b/c.txt",
        "Space & Security!!.html",
    ]
    for rel in rels:
        write(tmp_path, rel, "Text.")
    first = {f.relpath: f.id for f in discover(tmp_path)}
    second = {f.relpath: f.id for f in discover(tmp_path)}
    assert first == second
    assert len(set(first.values())) == len(rels)
    for sid in first.values():
        assert SLUG.fullmatch(sid), sid
    assert first["Reports 2024/Q1 Überblick (final).md"] == "reports-2024-q1-uberblick-final"
    assert first["Space & Security!!.html"] == "space-security"


def test_slugify_is_deterministic_and_url_safe() -> None:
    assert slugify("Reports/Über Café.md") == "reports-uber-cafe"
    assert slugify("us-japan-space-alliance.txt") == "us-japan-space-alliance"
    assert slugify("no-suffix") == "no-suffix"
    assert slugify("dir.v2/file") == "dir-v2-file"
    assert slugify("宇宙.md") == slugify("宇宙.md")
    assert slugify("宇宙.md") != slugify("衛星.md")
    for rel in ["宇宙.md", "...md", "-.txt", "A_B.txt"]:
        assert SLUG.fullmatch(slugify(rel)), rel


def test_slugs_transliterate() -> None:
    assert slugify("ünïcødé.md") == "unicode"
    assert slugify("Søren/Ørsted.txt") == "soren-orsted"
    assert slugify("Straße.md") == "strasse"


def test_an_id_never_moves_when_a_same_named_file_of_another_kind_arrives(tmp_path: Path) -> None:
    write(tmp_path, "briefs/japan.md", "Text.")
    first = {f.relpath: f.id for f in discover(tmp_path)}
    assert first == {"briefs/japan.md": "briefs-japan"}
    write(tmp_path, "briefs/japan.html", "<p>Text.</p>")
    again = {f.relpath: f.id for f in discover(tmp_path, known=first)}
    assert again == {"briefs/japan.md": "briefs-japan", "briefs/japan.html": "briefs-japan-html"}
    # And when the markdown leaves, the page keeps its own id.
    (tmp_path / "briefs" / "japan.md").unlink()
    assert {f.relpath: f.id for f in discover(tmp_path, known=again)} == {"briefs/japan.html": "briefs-japan-html"}


def test_known_ids_are_kept_and_new_ones_never_take_them(tmp_path: Path) -> None:
    ids = assign_ids(["a.md", "a.txt", "b.md"], {"a.txt": "a", "b.md": "a-md"})
    assert ids == {"a.txt": "a", "b.md": "a-md", "a.md": "a-md-2"}


def test_same_stem_different_suffix_get_distinct_ids(tmp_path: Path) -> None:
    for rel in ["brief.md", "brief.txt", "brief.html", "brief-txt.md"]:
        write(tmp_path, rel, "Text.")
    ids = [f.id for f in discover(tmp_path)]
    assert len(ids) == len(set(ids)) == 4
    assert all(SLUG.fullmatch(i) for i in ids)


def test_missing_corpus_folder_raises_corpus_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        discover(tmp_path / "nope")


def test_corpus_that_is_a_file_raises_corpus_error(tmp_path: Path) -> None:
    write(tmp_path, "file.txt", "Text.")
    with pytest.raises(CorpusError):
        discover(tmp_path / "file.txt")


def test_empty_corpus_folder_has_no_sources(tmp_path: Path) -> None:
    assert discover(tmp_path) == []


def test_an_unreadable_folder_is_reported_and_the_rest_found(tmp_path: Path, locked_folders: None) -> None:
    write(tmp_path, "open/a.txt", "Text.")
    write(tmp_path, "locked/b.txt", "Text.")
    found = scan(tmp_path)
    assert [f.relpath for f in found.files] == ["open/a.txt"]
    assert found.errors == [{"path": "locked", "error": "the folder cannot be read (Permission denied)"}]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders without read permission")
def test_a_folder_without_read_permission_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "open/a.txt", "Text.")
    write(tmp_path, "locked/b.txt", "Text.")
    (tmp_path / "locked").chmod(0)
    try:
        found = scan(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert [f.relpath for f in found.files] == ["open/a.txt"]
    assert [e["path"] for e in found.errors] == ["locked"]


def test_deeply_nested_folders_have_no_recursion_limit(tmp_path: Path) -> None:
    deep = tmp_path
    for _ in range(1100):  # one level at a time: Path.mkdir(parents=True) itself recurses
        deep = deep / "d"
        deep.mkdir()
    (deep / "bottom.txt").write_text("Text.")
    try:
        files = discover(tmp_path)
    finally:
        # Bottom up, by hand: shutil.rmtree (pytest's clean-up) recurses on Python 3.11.
        (deep / "bottom.txt").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent
    assert len(files) == 1 and files[0].relpath.endswith("d/bottom.txt")


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    write(tmp_path, "sub/a.txt", "Text.")
    try:
        (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    except OSError:
        pytest.skip("symlinks not supported here")
    assert [f.relpath for f in discover(tmp_path)] == ["sub/a.txt"]


# ---------------------------------------------------------------------------------------------
# symbolic links: the corpus is what the server may show, and a link must not widen it


def symlink(link: Path, target: Path) -> None:
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
    except OSError:
        pytest.skip("symlinks not supported here")


def test_links_that_lead_out_of_the_corpus_are_refused_and_reported(tmp_path: Path) -> None:
    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    write(corpus, "brief.md", "# Brief\n\nThe corpus's own text.\n")
    write(elsewhere, "secret.md", "A private note that was never meant to be served.\n")
    write(elsewhere, "folder/more.txt", "More private text.\n")
    symlink(corpus / "secret.md", elsewhere / "secret.md")
    symlink(corpus / "linked", elsewhere / "folder")
    symlink(corpus / "up.md", Path("..") / "elsewhere" / "secret.md")  # relative, still outside
    found = scan(corpus)
    assert [f.relpath for f in found.files] == ["brief.md"]
    refused = {e["path"]: e["error"] for e in found.errors}
    assert set(refused) == {"secret.md", "linked", "up.md"}
    assert all("outside the corpus folder" in reason for reason in refused.values())


def test_links_inside_the_corpus_are_read_once_under_the_real_path(tmp_path: Path) -> None:
    write(tmp_path, "briefs/japan.md", "# Japan\n\nJapan's text.\n")
    write(tmp_path, ".drafts/korea.md", "# Korea\n\nA draft the author chose to publish by a link.\n")
    symlink(tmp_path / "latest.md", tmp_path / "briefs" / "japan.md")  # a second name for an indexed file
    symlink(tmp_path / "current", tmp_path / "briefs")  # a second name for an indexed folder
    symlink(tmp_path / "korea.md", tmp_path / ".drafts" / "korea.md")  # the only way the draft is found
    found = scan(tmp_path)
    assert [f.relpath for f in found.files] == ["briefs/japan.md", "korea.md"]
    assert found.errors == []
    assert "chose to publish by a link" in parse(source(tmp_path, "korea.md")).text
