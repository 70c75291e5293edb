// The chat page: streams answers from /ask/stream, shows citation chips, opens the cited
// article with the quoted span highlighted, and manages the indexed documents.
// Every answer and article text goes into the page as text nodes, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { history: [], busy: false, docsOffset: 0, docsTotal: 0, articles: new Map() };
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

function dateLabel(date) {
  return date ? date : "date unknown";
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
  if (!response.ok) throw new Error(await errorMessage(response));
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

function addMessage(role, text) {
  $("empty-hint")?.remove();
  const body = el("div", { class: "text" }, text);
  const item = el("li", { class: `msg ${role}` },
    el("span", { class: "who" }, role === "user" ? "You" : "Answer"), body);
  $("messages").append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function chip(citation) {
  const label = `Open ${citation.source}, ${dateLabel(citation.date)}, at cited passage ${citation.n}`;
  const button = el("button", { type: "button", class: "chip", "aria-label": label, "aria-pressed": "false",
    "data-n": String(citation.n) },
    el("span", { class: "n" }, `[${citation.n}]`),
    el("span", { class: "file" }, citation.source),
    el("span", { class: "date" }, `· ${dateLabel(citation.date)}`));
  button.addEventListener("click", () => openArticle(citation, button));
  return button;
}

function renderChips(item, citations) {
  item.querySelector(".chips")?.remove();
  if (!citations.length) return;
  const list = el("ul", { class: "chips", "aria-label": "Sources" });
  for (const c of citations) list.append(el("li", {}, chip(c)));
  item.append(list);
}

// The verified answer replaces the streamed text; [n] markers become buttons to the passage.
function renderFinal(item, answer) {
  const body = item.querySelector(".text");
  const byN = new Map(answer.citations.map((c) => [c.n, c]));
  body.replaceChildren();
  let last = 0;
  for (const match of answer.answer.matchAll(/\[(\d+)\]/g)) {
    const citation = byN.get(Number(match[1]));
    if (!citation) continue;
    body.append(document.createTextNode(answer.answer.slice(last, match.index)));
    body.append(el("button", { type: "button", class: "marker",
      "aria-label": `source ${citation.n}: ${citation.source}, ${dateLabel(citation.date)}`,
      onclick: () => openArticle(citation, item.querySelector(`.chip[data-n="${citation.n}"]`)),
    }, `[${citation.n}]`));
    last = match.index + match[0].length;
  }
  body.append(document.createTextNode(answer.answer.slice(last)));
  renderChips(item, answer.citations);
  if (answer.refused) {
    item.classList.add("refused");
    item.append(el("p", { class: "notice", role: "status" },
      "No indexed article supports an answer, so none is given. Try other words or a wider date range."));
  }
}

function showError(item, message) {
  item.classList.remove("pending");
  item.classList.add("failed");
  item.append(el("p", { class: "error", role: "alert" }, `Could not answer: ${message}`));
}

async function ask(question) {
  const request = { question, history: state.history.slice(-20) };
  if ($("date-from").value) request.date_from = $("date-from").value;
  if ($("date-to").value) request.date_to = $("date-to").value;
  addMessage("user", question);
  const item = addMessage("assistant", "");
  item.classList.add("pending");
  item.setAttribute("aria-busy", "true");
  const body = item.querySelector(".text");
  let final = null;
  try {
    const response = await api("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(request),
    });
    for await (const { event, data } of sseEvents(response)) {
      if (event === "token") {
        body.append(document.createTextNode(data.text));
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
    }
    if (!final && !item.classList.contains("failed")) showError(item, "the answer stream ended early");
  } catch (error) {
    showError(item, error.message);
  } finally {
    item.classList.remove("pending");
    item.removeAttribute("aria-busy");
  }
  if (final) {
    state.history.push({ role: "user", content: question }, { role: "assistant", content: final.answer });
  }
}

function newChat() {
  state.history = [];
  $("messages").replaceChildren(el("li", { class: "empty", id: "empty-hint" },
    "New conversation. Ask a question about the articles."));
  closeViewer();
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

async function openArticle(citation, button) {
  document.querySelectorAll(".chip[aria-pressed='true']").forEach((b) => b.setAttribute("aria-pressed", "false"));
  button?.setAttribute("aria-pressed", "true");
  const viewer = $("viewer");
  const article = $("article");
  viewer.hidden = false;
  setLayout();
  $("viewer-title").textContent = citation.title || citation.source;
  $("viewer-meta").textContent = `${citation.source} — ${dateLabel(citation.date)}`;
  article.replaceChildren(document.createTextNode("Loading…"));
  try {
    const doc = await loadArticle(citation.source);
    $("viewer-title").textContent = doc.title || doc.source;
    $("viewer-meta").textContent = `${doc.source} — ${dateLabel(doc.date)} — ${doc.chunks} chunks`;
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
    "aria-label": `Open ${doc.title || doc.source}, ${dateLabel(doc.date)}` },
    el("span", { class: "title" }, doc.title || doc.source),
    el("span", { class: "sub" },
      `${doc.title ? `${doc.source} · ` : ""}${dateLabel(doc.date)} · ${doc.chunks} chunks`));
  open.addEventListener("click", () => openArticle({ source: doc.source, date: doc.date, title: doc.title }, null));
  const remove = el("button", { type: "button", class: "doc-delete", "aria-label": `Delete ${doc.source}` }, "Delete");
  remove.addEventListener("click", () => deleteDoc(doc.source));
  return el("li", {}, open, remove);
}

async function loadDocs(more = false) {
  const offset = more ? state.docsOffset : 0;
  try {
    const response = await api(`/documents?limit=${PAGE}&offset=${offset}`);
    const page = await response.json();
    if (!more) $("doc-list").replaceChildren();
    for (const doc of page.documents) $("doc-list").append(docItem(doc));
    state.docsOffset = offset + page.documents.length;
    state.docsTotal = page.total;
    $("docs-count").textContent = `${page.total} articles`;
    $("more-docs").hidden = state.docsOffset >= page.total;
  } catch (error) {
    docStatus(`Could not list documents: ${error.message}`, true);
  }
}

function summary(result) {
  const parts = [`${result.added} added`, `${result.updated} updated`, `${result.deleted} deleted`];
  for (const dup of result.duplicates) parts.push(`${dup.source} duplicates ${dup.same_as}`);
  return parts.join(", ");
}

async function afterWrite(promise, verb) {
  docStatus(`${verb}…`);
  try {
    const response = await promise;
    docStatus(`${verb}: ${summary(await response.json())}`);
    state.articles.clear();
    await loadDocs();
  } catch (error) {
    docStatus(`${verb} failed: ${error.message}`, true);
  }
}

function upload(files) {
  if (!files.length) return;
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  return afterWrite(api("/documents", { method: "POST", body: form }), `Upload of ${files.length} file(s)`);
}

function deleteDoc(source) {
  if (!window.confirm(`Delete ${source} from the index and the corpus folder?`)) return;
  return afterWrite(api(`/documents/${encodeURIComponent(source)}`, { method: "DELETE" }), `Delete ${source}`);
}

function toggleDocs() {
  const docs = $("docs");
  docs.hidden = !docs.hidden;
  $("toggle-docs").setAttribute("aria-expanded", String(!docs.hidden));
  setLayout();
  if (!docs.hidden) {
    loadDocs();
    $("api-key").focus();
  }
}

// -- wiring ------------------------------------------------------------------------------

function wire() {
  const form = $("ask-form");
  const question = $("question");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text || state.busy) return;
    state.busy = true;
    $("send").disabled = true;
    question.value = "";
    try {
      await ask(text);
    } finally {
      state.busy = false;
      $("send").disabled = false;
      question.focus();
    }
  });
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  $("new-chat").addEventListener("click", newChat);
  $("toggle-docs").addEventListener("click", toggleDocs);
  $("close-viewer").addEventListener("click", closeViewer);
  $("more-docs").addEventListener("click", () => loadDocs(true));
  $("rescan").addEventListener("click", () => afterWrite(api("/ingest", { method: "POST" }), "Rescan"));

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
    if (event.key === "Escape" && !$("viewer").hidden) closeViewer();
  });
  question.focus();
}

wire();
