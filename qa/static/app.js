// The chat page: streams answers from /ask/stream, shows citation chips, opens the cited
// article with the quoted span highlighted, and manages the indexed documents.
// Every answer and article text goes into the page as text nodes, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  history: [], busy: false, controller: null, follow: true,
  docsOffset: 0, docsTotal: 0, articles: new Map(), deleted: new Set(),
};
const PAGE = 50;

// -- small helpers -----------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function chunksLabel(n) {
  return `${n} chunk${n === 1 ? "" : "s"}`;
}

function dateLabel(date) {
  return date ? date : "date unknown";
}

// What a source is called: its title, else its first sentence, else its file name.
function sourceLabel(item) {
  return item.title || item.lead || item.source;
}

function authHeaders() {
  const key = $("api-key").value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error) return `${body.error.message} (${response.status} ${body.error.type})`;
  } catch (_) { /* not JSON */ }
  return `the service answered ${response.status} ${response.statusText}`;
}

async function api(path, options = {}) {
  const headers = { ...authHeaders(), ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    const error = new Error(await errorMessage(response));
    error.status = response.status;
    throw error;
  }
  return response;
}

// Server-Sent Events over a fetch body (EventSource cannot POST).
async function* sseEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = (buffer + value).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        let val = i < 0 ? "" : line.slice(i + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

// -- conversation ------------------------------------------------------------------------

// The list follows the answer as it streams, unless the reader scrolled up to read.
function nearBottom() {
  const list = $("messages");
  return list.scrollHeight - list.scrollTop - list.clientHeight < 48;
}

function follow(force = false) {
  if (force) state.follow = true;
  if (!state.follow) return;
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

function showEmpty(text) {
  const suggestions = el("ul", { class: "suggestions", id: "suggestions", "aria-label": "Suggestions" });
  const hint = el("li", { class: "empty", id: "empty-hint" },
    el("p", { class: "welcome" }, text),
    el("p", { class: "hint" }, "Press Enter to send, Shift+Enter for a new line. Every answer quotes the articles and cites them."),
    suggestions);
  $("messages").replaceChildren(hint);
  loadSuggestions(suggestions);
}

async function loadSuggestions(list) {
  try {
    const response = await api("/suggestions");
    const { questions } = await response.json();
    if (questions.length) list.before(el("p", { class: "hint" }, "Try one of these:"));
    for (const question of questions) {
      list.append(el("li", {}, el("button", { type: "button", class: "suggestion",
        onclick: () => submitQuestion(question) }, question)));
    }
  } catch (_) { /* no suggestions: the page still works */ }
}

function addMessage(role, text) {
  $("empty-hint")?.remove();
  const body = el("div", { class: "text" }, text);
  const item = el("li", { class: `msg ${role}` },
    el("span", { class: "who" }, role === "user" ? "You" : "Answer"), body);
  $("messages").append(item);
  follow(role === "user");
  return item;
}

function chipAria(button, item) {
  const gone = state.deleted.has(item.source) ? " (article deleted)" : "";
  button.setAttribute("aria-label",
    `Source ${button.dataset.n}: ${sourceLabel(item)}, ${dateLabel(item.date)}, ${item.source}${gone}`);
}

function chipLabel(button, item) {
  button.querySelector(".label").textContent = sourceLabel(item);
  chipAria(button, item);
}

function chip(citation) {
  const button = el("button", { type: "button", class: "chip", "aria-pressed": "false",
    "data-n": String(citation.n), "data-source": citation.source, title: citation.quote || "" },
    el("span", { class: "n" }, `[${citation.n}]`),
    el("span", { class: "label" }, sourceLabel(citation)),
    el("span", { class: "sub" },
      el("span", { class: "date" }, dateLabel(citation.date)),
      el("span", { class: "file" }, citation.source)));
  chipAria(button, citation);
  button.addEventListener("click", () => openArticle(citation, button));
  return button;
}

// A chip whose article is gone says so; it still shows the quote when pressed.
function markDeleted(source) {
  state.deleted.add(source);
  for (const button of document.querySelectorAll(".chip")) {
    if (button.dataset.source !== source || button.classList.contains("gone")) continue;
    button.classList.add("gone");
    button.querySelector(".sub").append(el("span", { class: "gone-note" }, "article deleted"));
    button.setAttribute("aria-label", `${button.getAttribute("aria-label")} (article deleted)`);
  }
}

// Untitled sources are named by their first sentence, which the document endpoint gives.
async function labelChips(list, citations) {
  const untitled = [...new Set(citations.filter((c) => !c.title).map((c) => c.source))];
  for (const source of untitled) {
    try {
      const doc = await loadArticle(source);
      list.querySelectorAll(`.chip`).forEach((b) => { if (b.dataset.source === source) chipLabel(b, doc); });
    } catch (error) {
      if (error.status === 404) markDeleted(source);
    }
  }
}

function renderChips(item, citations) {
  item.querySelector(".chips")?.remove();
  if (!citations.length) return;
  const list = el("ul", { class: "chips", "aria-label": "Sources" });
  for (const c of citations) list.append(el("li", {}, chip(c)));
  const actions = item.querySelector(".actions");
  if (actions) actions.before(list);
  else item.append(list);
  for (const c of citations) if (state.deleted.has(c.source)) markDeleted(c.source);
  labelChips(list, citations).then(() => follow());
}

function marker(citation, item) {
  return el("button", { type: "button", class: "marker",
    "aria-label": `source ${citation.n}: ${sourceLabel(citation)}, ${dateLabel(citation.date)}`,
    onclick: () => openArticle(citation, item.querySelector(`.chip[data-n="${citation.n}"]`)),
  }, `[${citation.n}]`);
}

// The answer's moment: the newest cited article's date ("as of 2023-11-10"), or "date unknown".
function momentLabel(answer) {
  return answer.newest_source_date ? `as of ${answer.newest_source_date}` : "date unknown";
}

function copyText(answer) {
  const lines = [answer.short_answer ? `${answer.short_answer.text}\n\n${answer.answer}` : answer.answer];
  if (!answer.refused) lines.push("", `(${momentLabel(answer)})`);
  for (const r of answer.newer || []) {
    lines.push(`A newer report (${r.date}) says ${r.short_answer}: “${r.citation.quote}” (${r.citation.source})`);
  }
  if (answer.citations.length) {
    lines.push("", "Sources:");
    for (const c of answer.citations) {
      lines.push(`[${c.n}] ${sourceLabel(c)} — ${c.source}, ${dateLabel(c.date)}: “${c.quote}”`);
    }
  }
  return lines.join("\n");
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) { // no clipboard permission: the old way
    const area = el("textarea", { class: "visually-hidden" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
}

// A timeline answer: one line per event, oldest first, its date in the margin (a <time>).
function timelineList(body) {
  let list = body.querySelector("ol.timeline");
  if (!list) {
    list = el("ol", { class: "timeline", "aria-label": "Timeline, oldest first" });
    body.replaceChildren(list);
  }
  return list;
}

function timelineEvent(event, markers) {
  const when = event.date
    ? el("time", { class: "when", datetime: event.date }, event.date)
    : el("span", { class: "when unknown" }, "date unknown");
  const what = el("p", { class: "what" }, event.text);
  for (const n of event.citations) what.append(" ", markers(n));
  return el("li", { class: "event" }, when, what);
}

function renderTimeline(item, answer, byN) {
  const list = timelineList(item.querySelector(".text"));
  list.replaceChildren();
  const markers = (n) => (byN.has(n) ? marker(byN.get(n), item) : `[${n}]`);
  for (const event of answer.events) list.append(timelineEvent(event, markers));
}

// Text with its [n] markers as buttons to the passage (markers of unknown citations stay text).
function appendCited(node, text, byN, item) {
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    const citation = byN.get(Number(match[1]));
    if (!citation) continue;
    node.append(document.createTextNode(text.slice(last, match.index)));
    node.append(marker(citation, item));
    last = match.index + match[0].length;
  }
  node.append(document.createTextNode(text.slice(last)));
  return node;
}

// The short answer in bold above the quote, its marker opening the short answer's span.
function showShort(item, short, citation) {
  item.querySelector(".short-answer")?.remove();
  const line = el("p", { class: "short-answer" }, el("strong", {}, short.text));
  if (citation) line.append(" ", marker({ ...citation, start: short.start, end: short.end }, item));
  item.querySelector(".text").before(line);
}

// One streamed piece: a verified sentence with the citations its markers name.
function showSentence(item, piece) {
  const byN = new Map((piece.citations || []).map((c) => [c.n, c]));
  item.querySelector(".text").append(appendCited(el("span", { class: "sentence" }), piece.text, byN, item));
}

// The verified answer replaces the streamed text; [n] markers become buttons to the passage.
function renderFinal(item, answer) {
  const body = item.querySelector(".text");
  const byN = new Map(answer.citations.map((c) => [c.n, c]));
  body.replaceChildren();
  item.querySelector(".short-answer")?.remove();
  if (answer.mode === "timeline" && answer.events && answer.events.length) {
    item.classList.add("timeline-answer");
    renderTimeline(item, answer, byN);
    return finishAnswer(item, answer);
  }
  appendCited(body, answer.answer, byN, item);
  const short = answer.short_answer;
  if (short && short.text) showShort(item, short, byN.get(short.n));
  finishAnswer(item, answer);
}

// The refusal notice, Copy, and the source chips under an answer of either kind.
function finishAnswer(item, answer) {
  if (answer.refused) {
    item.classList.add("refused");
    item.append(el("p", { class: "notice", role: "status" },
      "No indexed article supports an answer, so none is given. Try other words or a wider date range."));
  } else {
    const moment = el("p", { class: "moment" }, momentLabel(answer).replace(/^./, (c) => c.toUpperCase()));
    if (answer.as_of) moment.title = `Asked as of ${answer.as_of}`;
    item.append(moment);
    for (const report of answer.newer || []) {
      const line = el("p", { class: "newer", role: "note" },
        `A newer report (${report.date}) says `, el("strong", {}, report.short_answer), " ",
        marker(report.citation, item));
      item.append(line);
    }
  }
  const copyButton = el("button", { type: "button", class: "copy", "aria-label": "Copy the answer with its sources" }, "Copy");
  copyButton.addEventListener("click", () => copy(copyText(answer), copyButton));
  item.append(el("div", { class: "actions" }, copyButton));
  renderChips(item, answer.citations);
}

function showError(item, message) {
  item.classList.remove("pending");
  item.classList.add("failed");
  item.append(el("p", { class: "error", role: "alert" }, `Could not answer: ${message}`));
}

function filterRequest(request) {
  if ($("date-from").value) request.date_from = $("date-from").value;
  if ($("date-to").value) request.date_to = $("date-to").value;
  if ($("as-of").value) request.as_of = $("as-of").value;
  return request;
}

async function ask(question) {
  const request = filterRequest({ question, history: state.history.slice(-20) });
  addMessage("user", question);
  const item = addMessage("assistant", "");
  item.classList.add("pending");
  item.setAttribute("aria-busy", "true");
  const body = item.querySelector(".text");
  const controller = new AbortController();
  state.controller = controller;
  let final = null;
  try {
    const response = await api("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(request),
      signal: controller.signal,
    });
    for await (const { event, data } of sseEvents(response)) {
      if (event === "short") {
        showShort(item, data, data.citation);
      } else if (event === "token") {
        showSentence(item, data);
      } else if (event === "timeline") {
        timelineList(body).append(timelineEvent(data, (n) => `[${n}]`));
      } else if (event === "citations") {
        renderChips(item, data);
      } else if (event === "final") {
        final = data;
        renderFinal(item, data);
      } else if (event === "error") {
        showError(item, `${data.error.message} (${data.error.type})`);
      } else if (event === "done") {
        break;
      }
      follow();
    }
    if (!final && !item.classList.contains("failed")) showError(item, "the answer stream ended early");
  } catch (error) {
    if (controller.signal.aborted) {
      item.classList.add("stopped");
      item.append(el("p", { class: "notice", role: "status" }, "Stopped. Ask again for the full answer."));
    } else {
      showError(item, error.message);
    }
  } finally {
    state.controller = null;
    item.classList.remove("pending");
    item.removeAttribute("aria-busy");
    follow();
  }
  if (final) {
    state.history.push({ role: "user", content: question }, { role: "assistant", content: final.answer });
  }
}

function setBusy(busy) {
  state.busy = busy;
  $("send").hidden = busy;
  $("stop").hidden = !busy;
}

async function submitQuestion(text) {
  if (!text || state.busy) return;
  setBusy(true);
  $("question").value = "";
  try {
    await ask(text);
  } finally {
    setBusy(false);
    $("question").focus({ preventScroll: true });
  }
}

function newChat() {
  state.controller?.abort();
  state.history = [];
  showEmpty("New conversation. Ask a question about the articles.");
  closeViewer();
  $("question").focus();
}

// -- date filter -------------------------------------------------------------------------

function updateFilterChip() {
  const from = $("date-from").value;
  const to = $("date-to").value;
  const asOf = $("as-of").value;
  const chipBox = $("filter-chip");
  chipBox.hidden = !from && !to && !asOf;
  let text = "";
  if (from && to) text = `${from} – ${to}`;
  else if (from) text = `from ${from}`;
  else if (to) text = `until ${to}`;
  if (asOf) text = text ? `${text} · as of ${asOf}` : `as of ${asOf}`;
  $("filter-text").textContent = text;
  const active = (from || to ? 1 : 0) + (asOf ? 1 : 0);
  $("toggle-filters").textContent = active ? `Filters (${active})` : "Filters";
  $("toggle-filters").setAttribute("aria-label", chipBox.hidden ? "Filters" : `Filters: dated ${text}`);
}

function toggleFilters(open = $("filters").hidden) {
  $("filters").hidden = !open;
  $("toggle-filters").setAttribute("aria-expanded", String(open));
  if (open) $("date-from").focus();
}

function clearFilters() {
  $("date-from").value = "";
  $("date-to").value = "";
  $("as-of").value = "";
  updateFilterChip();
  $("question").focus();
}

// -- article viewer ----------------------------------------------------------------------

async function loadArticle(source) {
  if (!state.articles.has(source)) {
    const response = await api(`/documents/${encodeURIComponent(source)}`);
    state.articles.set(source, await response.json());
  }
  return state.articles.get(source);
}

function setLayout() {
  const layout = document.querySelector(".layout");
  layout.classList.toggle("with-docs", !$("docs").hidden);
  layout.classList.toggle("with-viewer", !$("viewer").hidden);
}

// Where the article was published (a feed entry's link, a URL: line, a page's canonical link).
function originalLink(url) {
  if (!/^https?:\/\//i.test(url || "")) return null;
  return el("a", { class: "original", href: url, target: "_blank", rel: "noopener noreferrer" }, "original article ↗");
}

function viewerMeta(item, chunks) {
  const parts = [el("span", { class: "date" }, dateLabel(item.date)), " · ", el("span", { class: "file" }, item.source)];
  if (chunks !== undefined) parts.push(` · ${chunksLabel(chunks)}`);
  const link = originalLink(item.url);
  if (link) parts.push(" · ", link);
  $("viewer-meta").replaceChildren(...parts);
}

async function openArticle(citation, button) {
  document.querySelectorAll(".chip[aria-pressed='true']").forEach((b) => b.setAttribute("aria-pressed", "false"));
  button?.setAttribute("aria-pressed", "true");
  const viewer = $("viewer");
  const article = $("article");
  viewer.hidden = false;
  setLayout();
  $("viewer-title").textContent = sourceLabel(citation);
  viewerMeta(citation);
  article.replaceChildren(document.createTextNode("Loading…"));
  try {
    state.articles.delete(citation.source); // it may have changed or gone since it was cached
    const doc = await loadArticle(citation.source);
    $("viewer-title").textContent = sourceLabel(doc);
    viewerMeta(doc, doc.chunks);
    const text = doc.text;
    if (citation.start === undefined) {
      article.replaceChildren(document.createTextNode(text));
      article.scrollTop = 0;
      article.focus();
      return;
    }
    const mark = el("mark", {}, text.slice(citation.start, citation.end));
    article.replaceChildren(
      document.createTextNode(text.slice(0, citation.start)),
      mark,
      document.createTextNode(text.slice(citation.end)),
    );
    article.focus({ preventScroll: true });
    mark.scrollIntoView({ block: "center" });
  } catch (error) {
    if (error.status === 404) {
      markDeleted(citation.source);
      $("viewer-title").textContent = "Article deleted";
      const parts = [el("p", { class: "notice" },
        `${citation.source} was deleted from the index after this answer was given.`)];
      if (citation.quote) parts.push(el("p", {}, "The answer quoted:"), el("blockquote", {}, citation.quote));
      article.replaceChildren(...parts);
      return;
    }
    article.replaceChildren(el("p", { class: "error", role: "alert" }, `Could not open the article: ${error.message}`));
  }
}

function closeViewer() {
  $("viewer").hidden = true;
  setLayout();
  document.querySelectorAll(".chip[aria-pressed='true']").forEach((b) => b.setAttribute("aria-pressed", "false"));
}

// -- documents panel ---------------------------------------------------------------------

function docStatus(message, bad = false) {
  const status = $("docs-status");
  status.textContent = message;
  status.classList.toggle("bad", bad);
}

function docItem(doc) {
  const open = el("button", { type: "button", class: "doc-open",
    "aria-label": `Open ${sourceLabel(doc)}, ${dateLabel(doc.date)}` },
    el("span", { class: "title" }, sourceLabel(doc)),
    el("span", { class: "sub" }, `${dateLabel(doc.date)} · ${chunksLabel(doc.chunks)} · `,
      el("span", { class: "file" }, doc.source)));
  open.addEventListener("click", () => openArticle({ source: doc.source, date: doc.date, title: doc.title, lead: doc.lead }, null));
  const remove = el("button", { type: "button", class: "doc-delete", "aria-label": `Delete ${doc.source}` }, "Delete");
  remove.addEventListener("click", () => deleteDoc(doc.source));
  return el("li", {}, open, remove);
}

async function loadDocs(more = false) {
  const offset = more ? state.docsOffset : 0;
  const q = $("doc-filter").value.trim();
  try {
    const response = await api(`/documents?limit=${PAGE}&offset=${offset}&q=${encodeURIComponent(q)}`);
    const page = await response.json();
    if (!more) $("doc-list").replaceChildren();
    for (const doc of page.documents) $("doc-list").append(docItem(doc));
    state.docsOffset = offset + page.documents.length;
    state.docsTotal = page.total;
    $("docs-count").textContent = `${page.total} ${q ? "matching" : "articles"}`;
    $("more-docs").hidden = state.docsOffset >= page.total;
  } catch (error) {
    docStatus(`Could not list documents: ${error.message}`, true);
  }
}

function summary(result) {
  const parts = [`${result.added} added`, `${result.updated} updated`, `${result.deleted} deleted`];
  if (result.skipped) parts.push(`${result.skipped} unchanged`);
  for (const dup of result.duplicates) parts.push(`${dup.source} duplicates ${dup.same_as}`);
  return parts.join(", ");
}

async function afterWrite(promise, verb) {
  docStatus(`${verb}…`);
  try {
    const response = await promise;
    const result = await response.json();
    docStatus(`${verb}: ${summary(result)}`);
    state.articles.clear();
    await loadDocs();
    return result;
  } catch (error) {
    docStatus(`${verb} failed: ${error.message}`, true);
    return null;
  }
}

// Per uploaded file: the date and title found, and what is missing (from `problems`).
async function reportUpload(names, result) {
  const report = $("upload-report");
  report.replaceChildren();
  for (const name of names) {
    const problems = result.problems.filter((p) => p.source === name || p.source.startsWith(`${name}#`));
    const found = [];
    const missing = problems.map((p) => p.message);
    const duplicate = result.duplicates.find((d) => d.source === name);
    if (duplicate) {
      report.append(el("li", {}, el("span", { class: "file" }, name), `: the same text as ${duplicate.same_as}, not indexed twice`));
      continue;
    }
    if (!/\.(jsonl|csv)$/i.test(name)) {
      try {
        const doc = await loadArticle(name);
        found.push(doc.date ? `date ${doc.date}` : null, doc.title ? `title “${doc.title}”` : null);
        if (!doc.title) missing.push(`no title: shown by its first sentence “${doc.lead || ""}”`);
      } catch (_) { /* skipped or a duplicate: its problems say why */ }
    }
    const line = el("li", {}, el("span", { class: "file" }, name), ": ",
      found.filter(Boolean).length ? `found ${found.filter(Boolean).join(", ")}` : "found no date or title");
    if (missing.length) line.append(el("span", { class: "missing" }, ` — ${missing.join("; ")}`));
    report.append(line);
  }
}

async function upload(files) {
  if (!files.length) return;
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  $("upload-report").replaceChildren();
  const result = await afterWrite(api("/documents", { method: "POST", body: form }), `Upload of ${files.length} file(s)`);
  if (result) await reportUpload(files.map((f) => f.name), result);
}

async function deleteDoc(source) {
  if (!window.confirm(`Delete ${source} from the index and the corpus folder?`)) return;
  const result = await afterWrite(api(`/documents/${encodeURIComponent(source)}`, { method: "DELETE" }), `Delete ${source}`);
  if (result && result.deleted) markDeleted(source);
}

function toggleDocs() {
  const docs = $("docs");
  docs.hidden = !docs.hidden;
  $("toggle-docs").setAttribute("aria-expanded", String(!docs.hidden));
  setLayout();
  if (!docs.hidden) {
    loadDocs();
    $("drop").focus();
  } else {
    $("toggle-docs").focus();
  }
}

// -- wiring ------------------------------------------------------------------------------

function wire() {
  const form = $("ask-form");
  const question = $("question");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitQuestion(question.value.trim());
  });
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  question.addEventListener("input", () => { // grow with the text, up to a third of the screen
    question.style.height = "auto";
    question.style.height = `${Math.min(question.scrollHeight + 2, window.innerHeight / 3)}px`;
  });
  $("stop").addEventListener("click", () => state.controller?.abort());
  // Only the reader's own scrolling stops the list from following; layout changes do not.
  const list = $("messages");
  let touched = 0;
  for (const kind of ["wheel", "touchmove", "pointerdown", "keydown"]) {
    list.addEventListener(kind, () => { touched = Date.now(); }, { passive: true });
  }
  list.addEventListener("scroll", () => {
    if (nearBottom()) state.follow = true;
    else if (Date.now() - touched < 1500) state.follow = false;
    $("jump").hidden = state.follow || nearBottom();
  });
  new ResizeObserver(() => follow()).observe(list);
  $("jump").addEventListener("click", () => follow(true));
  $("new-chat").addEventListener("click", newChat);
  $("toggle-docs").addEventListener("click", toggleDocs);
  $("close-docs").addEventListener("click", toggleDocs);
  $("close-viewer").addEventListener("click", closeViewer);
  $("more-docs").addEventListener("click", () => loadDocs(true));
  $("rescan").addEventListener("click", () => afterWrite(api("/ingest", { method: "POST" }), "Rescan"));
  $("toggle-filters").addEventListener("click", () => toggleFilters());
  $("clear-filters").addEventListener("click", clearFilters);
  for (const id of ["date-from", "date-to", "as-of"]) $(id).addEventListener("change", updateFilterChip);
  let filterTimer = 0;
  $("doc-filter").addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => loadDocs(), 200);
  });

  const key = $("api-key");
  key.value = sessionStorage.getItem("qa-api-key") || "";
  key.addEventListener("change", () => sessionStorage.setItem("qa-api-key", key.value.trim()));

  const drop = $("drop");
  const input = $("file-input");
  drop.addEventListener("click", () => input.click());
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      input.click();
    }
  });
  input.addEventListener("change", () => {
    upload([...input.files]);
    input.value = "";
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    upload([...event.dataTransfer.files]);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!$("viewer").hidden) closeViewer();
    else if (!$("filters").hidden) toggleFilters(false);
  });
  showEmpty("Ask a question about the indexed news articles.");
  updateFilterChip();
  question.focus();
}

wire();
