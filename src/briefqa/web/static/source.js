// Centre the highlighted quote: the #q fragment alone puts it at the very top, under the fold of
// the reader's attention. Also covers links that carry ?hl= without the fragment.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const mark = document.getElementById("q");
  if (mark) mark.scrollIntoView({ block: "center" });
});
