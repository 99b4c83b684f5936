// The console's only script, first-party and optional: every flow works without it.
// - Forms with data-confirm ask before they are sent (disable a user, revoke a key).
// - Buttons with data-copy copy the value of the input they name (a new API key).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      var input = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById("copy-status");
      if (!input || !navigator.clipboard) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(input.value).then(
          function () { if (status) { status.textContent = "Copied."; } },
          function () {
            input.select();
            if (status) { status.textContent = "Select the key and copy it with your keyboard."; }
          }
        );
      });
    });
  });
})();
