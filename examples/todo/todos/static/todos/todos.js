// Small progressive enhancement for the todo example: show the chosen
// attachment's size next to the file input and warn before a too-large upload.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var LIMIT = 5 * 1024 * 1024; // keep in step with TODO_MAX_ATTACHMENT_BYTES
  var input = document.querySelector('#todo-form input[type="file"]');
  if (!input) return;
  var note = document.createElement("span");
  note.className = "file-note";
  input.insertAdjacentElement("afterend", note);
  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (!file) { note.textContent = ""; return; }
    var kb = Math.ceil(file.size / 1024);
    note.textContent = " " + kb + " KB" + (file.size > LIMIT ? " — too large, the limit is 5 MB" : "");
  });
});
