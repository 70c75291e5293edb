"""The README's "First run" in a real browser (Debian's Chromium through Playwright) against a
real `qa serve --ingest` on a fresh copy of the seeds, with the default settings (the
extractive backend, the default rate limit): the page loads, suggestions show, a suggestion and
the README's question are answered with citations, the streamed pieces appear as they come
(short answer, then sentences, then the final answer), and a citation opens its passage; at
desktop (1280×800) and phone (390×844) width. And the page reloaded 100 times in a row: no 429,
no error. Screenshots go to test-results/browser/; `make docs-screenshots` copies them to docs/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from qa.text import split_cited
from tests.conftest import ROOT, SEEDS, SHOTS, free_port, running_process
from tests.test_browser import DESKTOP, LONG, PENDING, PHONE, answered

pytestmark = [pytest.mark.slow, pytest.mark.integration]

README = (ROOT / "README.md").read_text(encoding="utf-8")
# the question of the README's First run, step 2
FIRST_RUN = re.search(r'^2\. Ask "([^"]+)"', README, re.M)

# Records, in order, the pieces of an answer as the page adds them (a MutationObserver sees
# every insertion, however quickly the events arrive).
RECORDER = """
window.__pieces = [];
new MutationObserver((records) => {
  for (const record of records) for (const node of record.addedNodes) {
    if (node.nodeType !== 1) continue;
    const c = node.classList;
    if (c.contains("msg") && c.contains("assistant")) window.__pieces.push("reply");
    else if (c.contains("short-answer")) window.__pieces.push("short");
    else if (c.contains("sentence")) window.__pieces.push("sentence");
    else if (c.contains("actions")) window.__pieces.push("final");
  }
}).observe(document, { subtree: true, childList: true });
"""


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`qa serve --ingest` as `make serve` runs it, on a fresh copy of the seeds: ready means
    indexed, warmed up and the suggestions asked."""
    tmp = tmp_path_factory.mktemp("first-run")
    corpus = tmp / "corpus"
    corpus.mkdir()
    for path in SEEDS.iterdir():
        (corpus / path.name).write_bytes(path.read_bytes())
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    command = [str(ROOT / ".venv" / "bin" / "qa"), "serve", "--ingest", "--port", str(port)]
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("QA_")]:  # the defaults
            patch.delenv(key)
        patch.setenv("QA_CORPUS_DIR", str(corpus))
        patch.setenv("QA_INDEX_DIR", str(tmp / "index"))
        with running_process(command, tmp / "serve.log", ready, timeout=900):
            yield base


def new_page(browser: Browser, base_url: str, size: str) -> Page:
    phone = size == "phone"
    context = browser.new_context(
        base_url=base_url, viewport=PHONE if phone else DESKTOP, is_mobile=phone, has_touch=phone
    )
    context.add_init_script(RECORDER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    return page


def pieces_of_last_answer(page: Page) -> list[str]:
    pieces: list[str] = page.evaluate("window.__pieces")
    last = len(pieces) - 1 - pieces[::-1].index("reply")
    return pieces[last + 1 :]


def test_the_page_reloads_100_times_without_a_429_or_an_error(
    browser: Browser, base_url: str
) -> None:
    page = new_page(browser, base_url, "desktop")
    statuses: list[tuple[int, str]] = []
    page.on("response", lambda r: statuses.append((r.status, r.url)))
    page.goto("/")
    for _ in range(100):
        response = page.reload()
        assert response is not None and response.status == 200
        expect(page.get_by_label("Question")).to_be_visible()
    expect(page.locator(".suggestion").first).to_be_visible()
    refused = [(status, url) for status, url in statuses if status >= 400]
    assert refused == [] and len(statuses) > 300, refused  # the page, its files, suggestions
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_first_run_in_a_real_browser(browser: Browser, base_url: str, size: str) -> None:
    assert FIRST_RUN is not None, "the README's First run step 2 names a question"
    page = new_page(browser, base_url, size)
    suffix = "" if size == "desktop" else "-phone"
    page.goto("/")

    # 1. the page suggests questions about the indexed articles, and they are answered
    suggestions = page.locator(".suggestion")
    expect(suggestions.first).to_be_visible(timeout=LONG)
    offered = suggestions.all_inner_texts()
    assert 1 <= len(offered) <= 4 and all(q.endswith("?") for q in offered), offered
    page.screenshot(path=str(SHOTS / f"chat-empty{suffix}.png"))
    suggestions.first.click()
    reply = answered(page)
    expect(reply.locator(".chip").first).to_be_visible()
    expect(reply).not_to_have_class(re.compile(r"\brefused\b"))

    # 2. the README's question: the answer streams in pieces, each sentence cited
    box = page.get_by_label("Question")
    box.fill(FIRST_RUN.group(1))
    box.press("Enter")
    reply = answered(page, 1)
    expect(reply).not_to_have_class(PENDING)
    expected = page.request.post("/ask", data={"question": FIRST_RUN.group(1)}).json()
    pieces = pieces_of_last_answer(page)
    assert pieces[-1] == "final" and "sentence" in pieces, pieces
    streamed = pieces[: pieces.index("final")]
    if expected["short_answer"]:
        assert streamed[0] == "short" and streamed.index("short") < streamed.index("sentence")
    else:
        assert streamed[0] == "sentence", pieces
    assert streamed.count("sentence") == len(split_cited(expected["answer"]))
    expect(reply.locator(".text")).to_have_text(expected["answer"])
    chips = reply.locator(".chip")
    expect(chips).to_have_count(len(expected["citations"]))
    for i, citation in enumerate(expected["citations"]):
        expect(chips.nth(i)).to_contain_text(citation["date"] or "date unknown")

    # 3. clicking the marker shows the cited passage
    first = expected["citations"][0]
    reply.locator(".text .marker").first.click()
    expect(page.locator("#article mark")).to_have_text(first["quote"])
    expect(page.locator("#article mark")).to_be_in_viewport()
    expect(page.locator("#viewer-meta")).to_contain_text(first["date"] or "date unknown")
    page.screenshot(path=str(SHOTS / f"chat-answer{suffix}.png"))
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_a_suggestion_streams_its_short_answer_before_its_sentences(
    browser: Browser, base_url: str
) -> None:
    """Suggestions ask for a who, what or when: their answers have a short answer, and the
    page shows it first, then the sentences, then the final answer."""
    page = new_page(browser, base_url, "desktop")
    page.goto("/")
    suggestions = page.locator(".suggestion")
    expect(suggestions.first).to_be_visible(timeout=LONG)
    for question in suggestions.all_inner_texts():
        expected = page.request.post("/ask", data={"question": question}).json()
        if expected["short_answer"]:
            break
    else:
        pytest.fail("no suggestion's answer has a short answer")
    suggestions.filter(has_text=question).first.click()
    reply = answered(page)
    pieces = pieces_of_last_answer(page)
    assert pieces[:2] == ["short", "sentence"] and pieces[-1] == "final", pieces
    expect(reply.locator(".short-answer strong")).to_have_text(expected["short_answer"]["text"])
    page.context.close()
