// The chat thread: asks POST /api/ask with the earlier questions as history and draws each answer.
// Without this script the form still works: it GETs /?question=...&history=... and the server
// draws the same thread (templates/_turn.html holds the markup this file mirrors).
"use strict";

const MAX_HISTORY = 20;
const PAGE_K = 3;
const CONTEXT_CHARS = 200; // as templating.CONTEXT_CHARS
const COPY_LABEL = "Copy quote with citation";

const form = document.getElementById("ask-form");
const input = form.elements.namedItem("question");
const thread = document.getElementById("thread");
const busy = document.getElementById("busy");
const errorBox = document.getElementById("error");
const announcer = document.getElementById("announce");
const submit = form.querySelector("button[type=submit]");
const takeAway = document.getElementById("take-away");
const markdownButton = document.getElementById("copy-markdown");
const markdownLink = document.getElementById("markdown-link");
const markdownStatus = document.getElementById("markdown-status");
let markdownFallback = null; // a box to copy from by hand, made when the clipboard is refused
const MARKDOWN_LABEL = "Copy as Markdown";
const THREAD_KEY = "briefqa:thread"; // source.js reads it for its way back to the conversation
// What the page says of a question it cannot ask, in the server's words (api/question_words.py),
// so the page reads the same with this script and without it.
const BLANK = errorBox.dataset.blank;
const TOO_LONG = errorBox.dataset.tooLong;
// What answers.searcher.normalise_question drops: white space, control and format characters.
const NOTHING_VISIBLE = /^[\s\p{Cc}\p{Cf}\p{Cs}]*$/u;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child); // strings become text, never markup
  }
  return node;
}

function around(passage, quote, width = CONTEXT_CHARS) {
  const at = passage.indexOf(quote);
  if (at < 0) return ["", ""];
  let before = passage.slice(0, at);
  let after = passage.slice(at + quote.length);
  if (before.length > width) {
    const cut = before.indexOf(" ", before.length - width);
    before = "… " + (cut >= 0 ? before.slice(cut + 1) : before.slice(-width));
  }
  if (after.length > width) {
    const cut = after.lastIndexOf(" ", width - 1);
    after = after.slice(0, cut > 0 ? cut : width) + " …";
  }
  return [before, after];
}

// The quote as nodes, its answer (when one is marked) in <mark class="answer">, as api/answer_marks.py
// cuts it. The offsets count code points, as Python's do, not the UTF-16 units of a JS string; a
// span that does not stand in the quote with its own text marks nothing.
function quoted(result) {
  const answer = result.answer;
  if (!answer) return [result.quote];
  const points = Array.from(result.quote);
  const at = answer.start - result.start;
  const to = answer.end - result.start;
  if (!(0 <= at && at < to && to <= points.length)) return [result.quote];
  const words = points.slice(at, to).join("");
  if (words !== answer.text) return [result.quote];
  return [points.slice(0, at).join(""), el("mark", { class: "answer" }, words), points.slice(to).join("")];
}

function cite(result, linkClass) {
  return el("p", { class: "cite" }, el("a", { class: linkClass, href: result.source.url }, result.source.title));
}

function copyButton(result) {
  const button = el("button", { type: "button", class: "copy" }, COPY_LABEL);
  button.dataset.quote = result.quote;
  button.dataset.title = result.source.title;
  button.dataset.citation = result.source.citation || "";
  button.dataset.url = result.source.url;
  return button;
}

function answerView(response) {
  const [top, ...rest] = response.results;
  const [before, after] = around(top.passage, top.quote);
  const view = el(
    "div", { class: "answer" },
    el("blockquote", { class: "quote", cite: top.source.url }, ...quoted(top)),
    el("p", { class: "cite" }, el("a", { class: "source-link", href: top.source.url }, top.source.title), copyButton(top)),
  );
  if (before || after) {
    view.append(el("p", { class: "passage" },
      el("span", { class: "visually-hidden" }, "In context: "), before, el("span", { class: "here" }, top.quote), after));
  }
  if (rest.length) {
    const more = el("details", { class: "more" }, el("summary", {}, `${rest.length} more from the sources`));
    for (const r of rest) {
      more.append(el("div", { class: "also" },
        el("blockquote", { class: "also-quote", cite: r.source.url }, ...quoted(r)), cite(r, "also-link")));
    }
    view.append(more);
  }
  return view;
}

function noAnswerView(response) {
  const view = el("div", { class: "no-answer" }, el("p", { class: "verdict" }, "The sources do not answer this."));
  if (response.notice) view.append(el("p", { class: "notice" }, response.notice));
  if (response.results.length) {
    view.append(el("p", { class: "closest-label" }, "Closest, not an answer:"));
    // Not an answer, so no words in it are emphasised as one.
    for (const r of response.results) {
      view.append(el("div", { class: "closest" },
        el("blockquote", { class: "closest-quote", cite: r.source.url }, r.quote), cite(r, "closest-link")));
    }
  }
  return view;
}

function turnView(question, response) {
  const answered = response.answered && response.results.length > 0;
  return el(
    "article", { class: "turn", id: "latest" },
    el("p", { class: "asked" }, el("span", { class: "visually-hidden" }, "You asked: "), question),
    answered ? answerView(response) : noAnswerView(response),
  );
}

function historyInputs() {
  return Array.from(form.querySelectorAll('input[type=hidden][name="history"]'));
}

function shownInputs() {
  return Array.from(form.querySelectorAll('input[type=hidden][name="shown"]'));
}

// What a turn showed, as api/turns.py reads it back: offsets into the sources, never text, signed
// by the server (a reference it did not issue is searched again).
function shownRef(response) {
  return response.shown || "";
}

// The questions asked so far, oldest first, each with what it showed, as the hidden inputs carry
// them for the no-script form: the server draws earlier turns from these without searching again.
function remember(question, response) {
  form.append(el("input", { type: "hidden", name: "history", value: question }));
  form.append(el("input", { type: "hidden", name: "shown", value: shownRef(response) }));
  for (const inputs of [historyInputs(), shownInputs()]) {
    inputs.slice(0, Math.max(0, inputs.length - MAX_HISTORY)).forEach((node) => node.remove());
  }
  // A reload or the back button from a source redraws the same thread from the server.
  const params = new URLSearchParams();
  const asked = historyInputs().map((node) => node.value);
  const shown = shownInputs().map((node) => node.value);
  params.set("question", asked[asked.length - 1]);
  for (const q of asked.slice(0, -1)) params.append("history", q);
  if (shown.length === asked.length) for (const s of shown.slice(0, -1)) params.append("shown", s);
  history.replaceState(null, "", `/?${params}`);
  keepThread();
  // The Markdown of the whole thread, each turn as it was shown (the same address as the no-script link).
  const transcript = new URLSearchParams();
  asked.forEach((q, i) => {
    transcript.append("q", q);
    if (shown.length === asked.length) transcript.append("shown", shown[i]);
  });
  transcript.set("k", String(PAGE_K));
  markdownLink.href = `/api/transcript?${transcript}`;
  takeAway.hidden = false;
}

// This tab's conversation, for the source pages' "Back to the conversation".
function keepThread() {
  try {
    if (window.location.search) sessionStorage.setItem(THREAD_KEY, window.location.pathname + window.location.search);
    else sessionStorage.removeItem(THREAD_KEY); // a new, empty conversation
  } catch (err) {
    // storage may be off: the source page then relies on the server's link
  }
}

function describe(detail, status) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    const question = detail.filter((issue) => (issue.loc || [])[1] === "question");
    if (question.some((issue) => issue.type === "string_pattern_mismatch" || issue.type === "string_too_short")) {
      return BLANK;
    }
    if (question.some((issue) => issue.type === "string_too_long")) return TOO_LONG;
    return detail.map((issue) => `${(issue.loc || []).slice(1).join(".") || "request"}: ${issue.msg}`).join("; ");
  }
  return `The server answered ${status}.`;
}

function setBusy(on) {
  busy.hidden = !on;
  submit.disabled = on;
  thread.setAttribute("aria-busy", on ? "true" : "false");
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

async function ask(event) {
  event.preventDefault();
  if (!submit.disabled) {
    const question = input.value.trim();
    if (NOTHING_VISIBLE.test(question)) {
      showError(BLANK);
      return;
    }
    showError("");
    setBusy(true);
    try {
      const response = await fetch("/api/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ question, history: historyInputs().map((n) => n.value).slice(-MAX_HISTORY), k: PAGE_K }),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        showError(describe(body && body.detail, response.status));
        return;
      }
      const previous = document.getElementById("latest");
      if (previous) previous.removeAttribute("id");
      const turn = turnView(question, body);
      thread.append(turn);
      document.querySelector(".intro")?.setAttribute("hidden", "");
      input.placeholder = "Ask a follow-up";
      remember(question, body);
      input.value = "";
      announcer.textContent = body.answered && body.results.length
        ? `Answer from ${body.results[0].source.title}: ${body.results[0].quote}`
        : ["The sources do not answer this.", body.notice].filter(Boolean).join(" ");
      turn.scrollIntoView({ block: "start", behavior: "smooth" });
    } catch (err) {
      showError("Could not reach the server. Check the connection and ask again.");
    } finally {
      setBusy(false);
      input.focus({ preventScroll: true });
    }
  }
}

function fallbackCopy(text) {
  const area = el("textarea", { readonly: "", class: "visually-hidden" });
  area.value = text;
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  return ok;
}

async function copy(button) {
  const link = new URL(button.dataset.url, window.location.href).href;
  // The source as api/citation.py cites it (authors, “title”, date, where known), then the link.
  const text = `“${button.dataset.quote}” — ${button.dataset.citation || button.dataset.title}, ${link}`;
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch (err) {
    ok = fallbackCopy(text);
  }
  button.textContent = ok ? "Copied" : "Copy failed";
  announcer.textContent = ok ? "Quote and citation copied." : "Could not copy.";
  setTimeout(() => { button.textContent = COPY_LABEL; }, 1800);
}

// The thread as Markdown from the server (api/transcript.py builds it for all three ways), onto the
// clipboard; where the clipboard is refused, shown in a box to copy by hand.
async function copyMarkdown() {
  markdownButton.disabled = true;
  if (markdownFallback) markdownFallback.hidden = true;
  try {
    const response = await fetch(markdownLink.href, { headers: { Accept: "text/markdown" } });
    if (!response.ok) throw new Error(`status ${response.status}`);
    const text = await response.text();
    try {
      await navigator.clipboard.writeText(text);
      markdownStatus.textContent = "The conversation is on the clipboard as Markdown.";
      markdownButton.textContent = "Copied";
      setTimeout(() => { markdownButton.textContent = MARKDOWN_LABEL; }, 1800);
    } catch (err) {
      if (!markdownFallback) {
        markdownFallback = el("label", { class: "markdown-fallback", id: "markdown-fallback" },
          "Copy this Markdown:", el("textarea", { readonly: "", rows: "8" }));
        takeAway.append(markdownFallback);
      }
      const box = markdownFallback.querySelector("textarea");
      box.value = text;
      markdownFallback.hidden = false;
      box.select();
      markdownStatus.textContent = "The clipboard is not available here: the Markdown is in the box below.";
    }
  } catch (err) {
    markdownStatus.textContent = "Could not get the conversation from the server. Try again.";
  } finally {
    markdownButton.disabled = false;
  }
}

form.addEventListener("submit", ask);
markdownButton.addEventListener("click", copyMarkdown);
markdownButton.hidden = false;
keepThread();
thread.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (button) copy(button);
});
// The server draws copy buttons hidden: they only work with this script.
thread.querySelectorAll("button.copy").forEach((button) => { button.hidden = false; });
