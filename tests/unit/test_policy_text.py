"""Text normalisation: HTML to text, folding and excerpts."""

import pytest

from relay.model import Attachment, Inspection
from relay.policy.text import excerpt, fold, fold_with_map, html_links, html_to_text, original_span, readable_sources


@pytest.mark.parametrize(
    "raw, folded",
    [
        ("Suïcide", "suicide"),
        ("ＳＵＩＣＩＤＥ", "suicide"),
        ("Straße", "strasse"),
        ("sui\u200bcide", "suicide"),
        ("Ça VA", "ca va"),
    ],
)
def test_fold_ignores_case_accents_width_and_invisible_characters(raw, folded):
    assert fold(raw) == folded


def test_fold_map_points_back_to_the_original():
    text = "Ah, la Straße déjà"
    folded, index = fold_with_map(text)
    start = folded.index("deja")
    assert text[slice(*original_span(index, start, start + 4))] == "déjà"
    start = folded.index("strasse")
    assert text[slice(*original_span(index, start, start + 7))] == "Straße"


def test_html_to_text_keeps_visible_text_and_drops_scripts_and_styles():
    html = (
        "<html><head><style>p{color:red}</style><title>x</title></head><body>"
        "<p>Hello&nbsp;<b>there</b></p><script>var secret = 1;</script><div>Call&#32;me</div></body></html>"
    )
    assert html_to_text(html) == "Hello\xa0there\nCall me".replace("\xa0", " ")


def test_html_links_are_the_href_targets():
    html = '<a href="https://wa.me/14155552671">chat</a><img src="https://x.example/p.png"><a>no href</a>'
    assert html_links(html) == ("https://wa.me/14155552671",)


def test_readable_sources_cover_subject_texts_html_links_and_attachment_names():
    inspection = Inspection(
        subject="Hi",
        texts=("plain",),
        htmls=('<p>rich</p><a href="mailto:a@b.org">x</a>',),
        attachments=(Attachment("photo.jpg", "image/jpeg", 10),),
    )
    assert [(s.where, s.text) for s in readable_sources(inspection)] == [
        ("subject", "Hi"),
        ("text", "plain"),
        ("HTML", "rich\nx"),
        ("link", "mailto:a@b.org"),
        ("attachment name", "photo.jpg"),
    ]


def test_excerpt_shows_context_on_one_line_with_ellipses():
    text = "a" * 100 + "\nMATCH\n" + "b" * 100
    start = text.index("MATCH")
    shown = excerpt(text, start, start + 5, context=10)
    assert shown == "…" + "a" * 9 + " MATCH " + "b" * 9 + "…"
    assert excerpt("short MATCH", 6, 11) == "short MATCH"
