// Centre the highlighted quote: the #q fragment alone puts it at the very top, under the fold of
// the reader's attention. Also covers links that carry ?hl= without the fragment.
// The way back to the conversation: the server links it when the browser said where the reader came
// from; otherwise the chat page's script remembered the thread in this tab (sessionStorage).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const mark = document.getElementById("q");
  if (mark) mark.scrollIntoView({ block: "center" });
  const back = document.getElementById("back-to-thread");
  let thread = null;
  try {
    thread = sessionStorage.getItem("briefqa:thread");
  } catch (err) {
    thread = null; // storage may be off; the server's link (or none) stands
  }
  if (back && back.hidden && thread && thread.startsWith("/?")) {
    back.href = `${thread}#latest`;
    back.hidden = false;
  }
});
